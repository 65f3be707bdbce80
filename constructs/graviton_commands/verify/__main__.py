"""`python -m graviton_commands.verify`: the command line is `command.py`; what it checks, the package's docstring."""

import sys

from graviton_commands.verify.command import main

if __name__ == "__main__":  # importing the module (as tools walking the package do) runs nothing
    sys.exit(main())

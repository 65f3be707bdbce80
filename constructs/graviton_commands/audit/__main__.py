"""`python -m graviton_commands.audit`: the command line is the package's `main`; what it reads and writes, the
package's docstring."""

import sys

from graviton_commands.audit import main

if __name__ == "__main__":  # importing the module (as tools walking the package do) runs nothing
    sys.exit(main())

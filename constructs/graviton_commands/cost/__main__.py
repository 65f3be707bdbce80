import sys

from graviton_commands.cost.command import main

if __name__ == "__main__":
    sys.exit(main())

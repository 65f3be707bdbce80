"""The one error the cost report refuses with: every input problem becomes one line on stderr and exit 2.

Its own module so the loaders (`prices`, `usage`, `report`) and the command line share it without importing
each other.
"""


class CostError(ValueError):
    """An input the report cannot be made from; the message is one line (exit 2)."""

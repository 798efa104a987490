"""Command-line interface: ``secdilemma COMMAND --help`` documents each command.

Each command group lives in its own module and registers itself on
:data:`secdilemma.cli.app.app`; importing them here builds the full CLI.
"""

from secdilemma.cli import calibrate as _calibrate  # noqa: F401  (registers commands)
from secdilemma.cli import data as _data  # noqa: F401  (registers commands)
from secdilemma.cli import fit as _fit  # noqa: F401  (registers commands)
from secdilemma.cli import simulate as _simulate  # noqa: F401  (registers commands)
from secdilemma.cli.app import app

__all__ = ["app"]

"""Command-line interface: ``secdilemma COMMAND --help`` documents each command.

Each command lives in its own module and registers itself on
:data:`secdilemma.cli.app.app`; importing them here builds the full CLI. No
command module imports another, and none imports PyMC when imported: the
commands that fit import the model code when they run, so ``secdilemma
--help``, ``data ...`` and ``simulate`` start at once. The jobs themselves
live in :mod:`secdilemma.pipeline`; errors are handled in one place,
:class:`secdilemma.cli.app.Group`.
"""

from secdilemma.cli import calibrate as _calibrate  # noqa: F401  (registers commands)
from secdilemma.cli import data as _data  # noqa: F401  (registers commands)
from secdilemma.cli import demo as _demo  # noqa: F401  (registers commands)
from secdilemma.cli import fit as _fit  # noqa: F401  (registers commands)
from secdilemma.cli import report as _report  # noqa: F401  (registers commands)
from secdilemma.cli import simulate as _simulate  # noqa: F401  (registers commands)
from secdilemma.cli.app import app

__all__ = ["app"]

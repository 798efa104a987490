"""The root Typer application, its ``--debug`` option and the CLI's one error handler.

Every command module registers on :data:`app`. Errors are handled in one
place, :meth:`Group.invoke`, around every command:

- the package's own errors — :class:`ValueError` and its subclasses
  (``VariantError``, ``OutputPathError``, ``PanelFileError``, ``FitFileError``,
  ``RawDataError`` ...) and :class:`OSError` (a missing or unwritable file) —
  print one line, ``error: <message>``, on stderr and exit with status 2,
  the status of Click's own usage errors;
- an interrupt (Ctrl-C, ``SIGINT``) prints ``interrupted: ...`` and exits
  with status 130 (``128 + SIGINT``); files are written atomically, so none
  is left half-written;
- with ``secdilemma --debug COMMAND`` (or ``SECDILEMMA_DEBUG=1``) the
  exception propagates with its traceback instead.

Exit statuses: 0 success, 2 a usage or input error (nothing computed), 3 a fit
saved with failed diagnostics (``secdilemma fit``), 130 interrupted.

The root callback also sends the package's INFO log records (``compiling``,
``sampling: ...``) to stderr, so long steps say what they are doing.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

EXIT_ERROR = 2
"""Exit status of a usage or input error."""

EXIT_INTERRUPTED = 130
"""Exit status of an interrupted command (128 + SIGINT)."""

DEBUG_KEY = "secdilemma.debug"


def _one_line(err: BaseException) -> str:
    """The message of an exception on one line (long HDF5 or pandas messages included)."""
    text = " ".join(str(err).split())
    if isinstance(err, OSError) and err.filename and str(err.filename) not in text:
        text = f"{err.filename}: {err.strerror or text}"
    return text or type(err).__name__


class Group(TyperGroup):
    """The root command group: runs a command and turns its errors into one line."""

    def invoke(self, ctx: typer.Context) -> Any:
        """Invoke the command; handle the package's errors and interrupts (module docstring)."""
        try:
            return super().invoke(ctx)
        except typer.TyperException:  # Click's usage errors: Click reports them
            raise
        except KeyboardInterrupt as err:
            if ctx.meta.get(DEBUG_KEY):
                raise
            detail = _one_line(err) if str(err) else "stopped by Ctrl-C"
            typer.echo(f"interrupted: {detail}; no file was left half-written", err=True)
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except (ValueError, OSError) as err:
            if ctx.meta.get(DEBUG_KEY):
                raise
            typer.echo(f"error: {_one_line(err)}", err=True)
            raise typer.Exit(EXIT_ERROR) from None


app = typer.Typer(
    name="secdilemma",
    cls=Group,
    help="Bayesian belief-update models of the security dilemma.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class _EchoHandler(logging.Handler):
    """Log records as lines on stderr (through Click, so test runners capture them)."""

    def emit(self, record: logging.LogRecord) -> None:
        typer.echo(self.format(record), err=True)


def _log_to_stderr() -> None:
    """Send the package's INFO records to stderr (once per process)."""
    logger = logging.getLogger("secdilemma")
    if not any(isinstance(h, _EchoHandler) for h in logger.handlers):
        logger.addHandler(_EchoHandler())
    logger.setLevel(logging.INFO)


@app.callback()
def main(
    ctx: typer.Context,
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            envvar="SECDILEMMA_DEBUG",
            help="Show the full traceback of an error instead of its one-line message.",
        ),
    ] = False,
) -> None:
    """Bayesian belief-update models of the security dilemma.

    Exit status: 0 success; 2 a usage or input error, reported in one line
    before any work; 3 a fit saved with failed diagnostics; 130 interrupted
    (Ctrl-C). Every file is written to a temporary name and renamed when
    complete, so an error or interrupt never leaves a half-written file.
    """
    ctx.meta[DEBUG_KEY] = debug
    _log_to_stderr()

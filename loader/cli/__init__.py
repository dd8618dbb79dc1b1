"""The ``nps-loader`` command line: parsing and printing only; the work is in
:mod:`loader.pipeline` and :mod:`loader.verify`, the settings in :mod:`loader.settings`.

- :mod:`loader.cli.options`: the options of each command, generated from the settings;
- :mod:`loader.cli.output`: results, warnings and one-line errors;
- :mod:`loader.cli.commands`: ``nps-loader`` and the daily commands;
- :mod:`loader.cli.check_commands`: verify and reconcile;
- :mod:`loader.cli.demo_commands`: charts and demo-source.
"""

from loader.cli import check_commands, demo_commands  # noqa: F401 (each adds its commands)
from loader.cli.commands import main

__all__ = ["main"]

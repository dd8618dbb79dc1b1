"""The ``nps-loader`` command line: parsing and printing only; the work is in
:mod:`loader.pipeline` and :mod:`loader.verify`, the settings in :mod:`loader.settings`.

- :mod:`loader.cli.options`: the options of each command, generated from the settings;
- :mod:`loader.cli.output`: results, warnings and one-line errors;
- :mod:`loader.cli.commands`: the commands.
"""

from loader.cli.commands import main

__all__ = ["main"]

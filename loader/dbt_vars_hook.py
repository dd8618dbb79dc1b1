"""Make dbt's ``--vars`` YAML keep an impossible unquoted date as text.

``dbt run --vars '{run_date: 2021-13-01}'`` is parsed by PyYAML, whose timestamp rule matches
``2021-13-01`` and then fails to build the date: dbt ends in a 40-line traceback before any of
this project's checks run. With this hook such a scalar stays the string ``'2021-13-01'``, and
``nps_date_var`` (macros/nps_vars.sql) refuses it in the same one line as the quoted form.
Real dates are unchanged.

``make install`` puts a one-line ``.pth`` file into the virtualenv (``python -m
loader.dbt_vars_hook``), so the hook runs when a ``dbt`` process starts and does nothing in any
other process. A production venv that wants the same can run the same command once.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

PTH_NAME = "nps_warehouse_dbt_vars.pth"
#: Run by Python at every start of the venv: imports this module in a ``dbt`` process only.
PTH_LINE = (
    "import os, sys; os.path.basename((getattr(sys, 'argv', None) or [''])[0]) == 'dbt' "
    "and __import__('loader.dbt_vars_hook', fromlist=['install']).install()\n"
)


def install() -> None:
    """Called from the .pth file at every start of this venv's Python: only dbt is touched."""
    argv = getattr(sys, "argv", None) or [""]
    if os.path.basename(argv[0]) != "dbt":
        return
    import yaml
    from yaml.constructor import SafeConstructor

    def timestamp_or_text(loader: Any, node: Any) -> Any:
        try:
            return SafeConstructor.construct_yaml_timestamp(loader, node)
        except ValueError:  # 2021-13-01, 2021-02-30: text, for the project's check to name
            return loader.construct_scalar(node)

    for name in ("SafeLoader", "CSafeLoader"):
        loader_class = getattr(yaml, name, None)
        if loader_class is not None:
            loader_class.add_constructor("tag:yaml.org,2002:timestamp", timestamp_or_text)


def write_pth() -> Path:
    """Write the .pth file into this interpreter's site-packages; returns its path."""
    import sysconfig
    from pathlib import Path

    path = Path(sysconfig.get_paths()["purelib"]) / PTH_NAME
    path.write_text(PTH_LINE)
    return path


if __name__ == "__main__":
    print(f"wrote {write_pth()}")

"""Find the warehouse through the dbt profile, as dbt itself would, without importing dbt.

Credentials live in one place: ``profiles.yml``. Lookup order for the folder holding it:
``--profiles-dir``, then ``DBT_PROFILES_DIR`` (either, when given, must hold ``profiles.yml``),
then the current folder, then ``~/.dbt``.
``{{ env_var('NAME', 'default') }}`` is rendered the way dbt renders it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import yaml

from loader.errors import ConfigError, register_secret

PROFILE_NAME = "nps_warehouse"


@dataclass(frozen=True)
class Target:
    name: str
    type: str
    settings: dict[str, Any]

    @property
    def schema(self) -> str:
        return str(self.settings.get("schema", "main"))


def _env_var(name: str, default: str | None = None) -> str:
    if name in os.environ:
        return os.environ[name]
    if default is not None:
        return default
    raise ConfigError(f"profiles.yml needs the environment variable {name}, which is not set")


def _render(value: Any, env: jinja2.Environment) -> Any:
    if isinstance(value, str) and "{{" in value:
        return env.from_string(value).render()
    if isinstance(value, dict):
        return {k: _render(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [_render(v, env) for v in value]
    return value


def find_profiles_dir(profiles_dir: str | None) -> Path:
    """As dbt does: a folder named by --profiles-dir or DBT_PROFILES_DIR must hold profiles.yml
    (never silently replaced by another one); otherwise ``.``, then ``~/.dbt``."""
    explicit = profiles_dir or os.environ.get("DBT_PROFILES_DIR")
    if explicit:
        if not (Path(explicit) / "profiles.yml").is_file():
            raise ConfigError(
                f"no profiles.yml in {explicit} (named by --profiles-dir or DBT_PROFILES_DIR): "
                "fix the folder, or copy profiles.yml.example there"
            )
        return Path(explicit)
    for fallback in (".", str(Path.home() / ".dbt")):
        if (Path(fallback) / "profiles.yml").is_file():
            return Path(fallback)
    raise ConfigError(
        "no profiles.yml found (looked in ., ~/.dbt); copy profiles.yml.example to "
        "profiles.yml or set DBT_PROFILES_DIR"
    )


def load_target(profiles_dir: str | None = None, target: str | None = None) -> Target:
    path = find_profiles_dir(profiles_dir) / "profiles.yml"
    try:
        profiles = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from None
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    env.globals["env_var"] = _env_var
    # dbt's native-type filters; the values are converted where they are used
    for name in ("as_number", "as_bool", "as_text", "as_native"):
        env.filters[name] = lambda value: value
    profile = profiles.get(PROFILE_NAME)
    if not isinstance(profile, dict) or "outputs" not in profile:
        raise ConfigError(f"{path} has no profile {PROFILE_NAME!r} with outputs")
    name = target or os.environ.get("DBT_TARGET") or _render(profile.get("target", "dev"), env)
    outputs = profile["outputs"]
    if name not in outputs:
        raise ConfigError(
            f"profile {PROFILE_NAME!r} has no target {name!r} (has {', '.join(outputs)})"
        )
    settings = _render(outputs[name], env)
    register_secret(settings.get("password"))
    return Target(name=str(name), type=str(settings.get("type")), settings=settings)

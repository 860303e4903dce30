"""The variables the deployment files may set: Settings fields plus the image's own (from gen_config_docs)."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

from app.settings import Settings
from tests.deploy.dockerfile import ROOT


def gen_config_docs() -> ModuleType:
    """scripts/gen_config_docs.py as a module (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location("gen_config_docs", ROOT / "scripts" / "gen_config_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def settings_vars() -> set[str]:
    return {name.upper() for name in Settings.model_fields}


def file_vars() -> set[str]:
    """``NAME_FILE`` for every setting: the app reads NAME from that file (Docker and Kubernetes secrets)."""
    return {name + "_FILE" for name in settings_vars()}


def container_vars() -> set[str]:
    """What a BFF container's environment may name; anything else is a typo the app would silently ignore."""
    return settings_vars() | file_vars() | set(gen_config_docs().IMAGE_VARS)

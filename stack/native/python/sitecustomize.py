"""DataPipeline's native stack: the container paths of a project's compose file resolve here.

A project written for containers reads its code at /opt/airflow/dags, /opt/airflow/scripts,
/opt/airflow/plugins and /opt/airflow/include (Astro: /usr/local/airflow/...). The native stack runs
its Airflow as local processes, where those folders do not exist and cannot be made without root.
Python imports this module at start (the native backend puts its folder on PYTHONPATH and says in
DATAPIPELINE_PATH_MAP where each container folder is); it then
  - resolves a sys.path entry under a mapped container folder to the project's folder, so
    `sys.path.insert(0, "/opt/airflow/scripts")` then `import transforms` finds scripts/transforms.py;
  - turns a module not found while sys.path names a container folder with no folder here into an
    import error that names that path and the setting to set.
The cluster policy (airflow_local_settings.py) maps the same paths in operators' arguments (a
SparkSubmitOperator's application). Nothing is done when DATAPIPELINE_PATH_MAP is not set (Docker).
"""
import json
import os
import sys


def _load_map():
    try:
        raw = json.loads(os.environ.get("DATAPIPELINE_PATH_MAP") or "{}")
    except ValueError:
        return {}
    return {k.rstrip("/"): v for k, v in raw.items() if isinstance(k, str) and isinstance(v, str) and k.startswith("/")}


PATH_MAP = _load_map()
CONTAINER_ROOTS = ("/opt/airflow/", "/usr/local/airflow/")


def real_path(p):
    """The project's path for a container path (unchanged when it is not one)."""
    if not isinstance(p, str):
        return p
    for container, real in PATH_MAP.items():
        if p == container or p.startswith(container + "/"):
            return real + p[len(container):]
    return p


def _install():
    from importlib.machinery import (
        BYTECODE_SUFFIXES,
        EXTENSION_SUFFIXES,
        SOURCE_SUFFIXES,
        ExtensionFileLoader,
        FileFinder,
        SourceFileLoader,
        SourcelessFileLoader,
    )

    loaders = [(ExtensionFileLoader, EXTENSION_SUFFIXES), (SourceFileLoader, SOURCE_SUFFIXES), (SourcelessFileLoader, BYTECODE_SUFFIXES)]

    def container_path_hook(entry):
        real = real_path(entry)
        if real == entry or not os.path.isdir(real):
            raise ImportError  # not a mapped container path: the next hook
        return FileFinder(real, *loaders)

    class UnmappedContainerPath:
        """Last on sys.meta_path: a module no finder found while sys.path names a container folder that is not here."""

        @staticmethod
        def find_spec(name, path=None, target=None):
            if path is not None or "." in name:
                return None
            missing = [e for e in sys.path if isinstance(e, str) and e.startswith(CONTAINER_ROOTS) and not os.path.isdir(real_path(e))]
            if not missing:
                return None
            raise ModuleNotFoundError(
                f"No module named {name!r}: sys.path names {', '.join(missing)}, a container path with no folder on this "
                "machine (the native stack maps /opt/airflow/dags, scripts, plugins and include to the project's folders). "
                "Set datapipeline.project.scriptsFolder (or another datapipeline.project setting) to the folder it means.",
                name=name,
            )

    sys.path_hooks.insert(0, container_path_hook)
    sys.path_importer_cache.clear()
    sys.meta_path.append(UnmappedContainerPath)


if PATH_MAP:
    _install()

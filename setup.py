"""The one packaging fact pyproject.toml cannot state: which packages there are. They are those
found under src/ (new subpackages and data folders are picked up without listing them) plus the
repository's schemas/ and projections/ folders, mapped in by pyproject.toml's package-dir as
``profile360._schemas`` (with a folder per record) and ``profile360._sql``. Everything else is in
pyproject.toml."""
from setuptools import find_namespace_packages, setup

MAPPED = {"profile360._schemas": "schemas", "profile360._sql": "projections"}

setup(packages=[*find_namespace_packages("src", include=["profile360", "profile360.*"]),
                *MAPPED, *(f"{name}.{sub}" for name, folder in MAPPED.items() for sub in find_namespace_packages(folder))])

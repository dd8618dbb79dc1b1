"""The lake: immutable extracts in a local folder or an S3 prefix.

- :mod:`loader.lake.storage`: the folder or bucket (write, read, publish, remove objects);
- :mod:`loader.lake.manifest`: what an extract holds (``_manifest.json``);
- :mod:`loader.lake.writer`: the lake written: one day's extract from the source;
- :mod:`loader.lake.reader`: the lake read: one day's extract, checked, as a load reads it.
"""

from loader.lake.storage import Lake, LocalLake, S3Lake, discard, open_lake

__all__ = ["Lake", "LocalLake", "S3Lake", "discard", "open_lake"]

"""An emulated Amazon Redshift for the tests (not part of the installed loader).

    python -m dev.redshift_emulator --postgres postgresql://USER@127.0.0.1:PORT/DB -- COMMAND ARGS

runs ``nps-loader ...`` or ``dbt ...`` against the profile's ``redshift`` target with every
connection sent to that PostgreSQL through a translating layer (:mod:`.session`) that refuses
what AWS documents Redshift refuses (:mod:`.rules`), translates the rest (:mod:`.translate`,
``catalog.sql``) and runs ``COPY ... FORMAT AS PARQUET MANIFEST`` from the S3 server at
``AWS_ENDPOINT_URL`` (:mod:`.copy`). What it cannot show is for ``make redshift-smoke`` on a
real cluster (docs/operations.md, "Redshift: what is checked without a cluster").
"""

from dev.redshift_emulator.session import EMULATED_HOST, emulate, open_connection, target_env

__all__ = ["EMULATED_HOST", "emulate", "open_connection", "target_env"]

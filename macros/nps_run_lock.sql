{#-
    One dbt run (or build) of this project at a time on a shared warehouse. Two at once on
    PostgreSQL or Redshift race on the same relations (one fails with `relation
    "stg_nps__responses__dbt_backup" already exists`, or worse, interleaves its models with the
    other's). A session lock cannot hold for a whole run (dbt closes the hook's connection), so
    the lock is held by rows in <schema>.nps_run_lock: on-run-start takes it or fails at once in
    one line naming the run that holds it; every model adds a heartbeat row (pre-hook); on-run-end
    deletes the run's rows. A run that crashed leaves its rows behind: they expire once no model
    of that run has reported for var nps_run_lock_timeout_minutes (default 60), so it never
    blocks the next run forever. DuckDB needs none of this: one process writes a DuckDB file at a
    time.

    Redshift: dbt-redshift connects with autocommit on and sends each statement of a hook on its
    own, and LOCK "is only meaningful when it is run inside a transaction block" (AWS, LOCK:
    https://docs.aws.amazon.com/redshift/latest/dg/r_LOCK.html): taking the lock is one explicit
    begin ... commit. The heartbeat is an insert of values in a statement of its own (transaction:
    false in dbt_project.yml): an update of one shared row inside each model's transaction, with
    threads: 4, is a write-write conflict that SNAPSHOT isolation (the default for new clusters
    and Serverless) aborts with error 1023, and SERIALIZABLE queues behind (AWS, "Isolation
    levels": https://docs.aws.amazon.com/redshift/latest/dg/c_serial_isolation.html).
-#}

{% macro nps_run_lock_relation() %}
    {{ return(api.Relation.create(database=target.database, schema=target.schema, identifier='nps_run_lock')) }}
{% endmacro %}


{% macro nps_takes_run_lock() %}
    {{ return(adapter.dispatch('nps_takes_run_lock')()) }}
{% endmacro %}

{% macro default__nps_takes_run_lock() %}
    {{ return(flags.WHICH in ('run', 'build')) }}
{% endmacro %}

{% macro duckdb__nps_takes_run_lock() %}
    {{ return(false) }}
{% endmacro %}


{% macro nps_lock_table(relation) %}
    {{ return(adapter.dispatch('nps_lock_table')(relation)) }}
{% endmacro %}

{% macro default__nps_lock_table(relation) %}
    {#- a transaction-level advisory lock: it serialises runs taking the lock, without waiting
        for the row lock a running model's heartbeat holds until that model commits -#}
    select pg_advisory_xact_lock(hashtext('nps_warehouse.nps_run_lock'))
{% endmacro %}

{% macro redshift__nps_lock_table(relation) %}
    {#- Redshift has no advisory locks: a run that starts while a model of another run is
        being built waits for that model to commit, then fails saying which run holds it -#}
    lock {{ relation }}
{% endmacro %}


{% macro nps_acquire_run_lock() %}
    {%- if execute and nps_takes_run_lock() -%}
        {%- set lock = nps_run_lock_relation() -%}
        {%- set timeout = var('nps_run_lock_timeout_minutes') | int -%}
        {%- set now = dbt.current_timestamp() -%}
        {%- do run_query(
            "create table if not exists " ~ lock ~ " (invocation_id varchar(64) not null, "
            ~ "command varchar(16) not null, started_at timestamp not null, "
            ~ "heartbeat_at timestamp not null); commit;"
        ) -%}
        {%- do run_query(
            "begin; " ~ nps_lock_table(lock) ~ "; "
            ~ "delete from " ~ lock ~ " where invocation_id in (select invocation_id from " ~ lock
            ~ " group by invocation_id having max(heartbeat_at) < " ~ dbt.dateadd('minute', -1 * timeout, now) ~ "); "
            ~ "insert into " ~ lock ~ " select '" ~ invocation_id ~ "', '" ~ flags.WHICH ~ "', "
            ~ now ~ ", " ~ now ~ " where not exists (select 1 from " ~ lock ~ "); commit;"
        ) -%}
        {%- set holder = run_query("select invocation_id, min(command), min(started_at), max(heartbeat_at) from " ~ lock ~ " group by invocation_id").rows -%}
        {%- for row in holder if row[0] != invocation_id -%}
            {{ exceptions.raise_compiler_error("another dbt " ~ row[1] ~ " of this project is in progress on " ~ target.schema ~ " (invocation " ~ row[0] ~ ", started " ~ row[2] ~ " UTC, last model " ~ row[3] ~ " UTC): run again when it has finished. If that run crashed, its lock expires " ~ timeout ~ " minutes after its last model (var nps_run_lock_timeout_minutes), or remove it now: delete from " ~ lock) }}
        {%- endfor -%}
    {%- endif -%}
{% endmacro %}


{% macro nps_run_lock_heartbeat(inside_transaction) %}
    {#- A row of values, read from nothing: concurrent heartbeats never conflict. PostgreSQL:
        inside the model's transaction (a pre-hook). Redshift: in a statement of its own once the
        model has committed (a post-hook with transaction: false), since a write to nps_run_lock
        inside each model's transaction would hold the table's write lock until the model
        commits and queue the threads. (A transaction: false pre-hook would do on Redshift, but
        dbt sends a `commit` before the first one on every adapter, and on PostgreSQL that
        breaks the atomic swap of the views: readers saw a mart missing.) -#}
    {%- if execute and nps_takes_run_lock() and (target.type == 'redshift') != inside_transaction -%}
        insert into {{ nps_run_lock_relation() }} (invocation_id, command, started_at, heartbeat_at)
        values ('{{ invocation_id }}', '{{ flags.WHICH }}', {{ nps_run_timestamp() }}, {{ dbt.current_timestamp() }})
    {%- endif -%}
{% endmacro %}


{% macro nps_release_run_lock() %}
    {%- if execute and nps_takes_run_lock() -%}
        delete from {{ nps_run_lock_relation() }} where invocation_id = '{{ invocation_id }}';
        commit
    {%- else -%}
        select 1
    {%- endif -%}
{% endmacro %}

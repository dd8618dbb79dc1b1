{#-
    on-run-start: the vars are checked, the warehouse is ready (raw loaded, the stored state
    built in this zone, the models built before dbt test), and the run lock is taken
    (macros/nps_run_lock.sql). One line says what to do when any of it fails.
-#}

{% macro nps_validate_vars() %}
    {#-
        on-run-start: bad vars fail the invocation before any model runs. A misspelled var
        ({run_dat: ...}, {run_date=...}) would otherwise fall back to "everything since the
        last run" without a word.
    -#}
    {%- if execute -%}
        {%- set known = ['run_date', 'start_date', 'end_date', 'loaded_at_lookback_minutes', 'reporting_timezone', 'nps_run_lock_timeout_minutes', 'nps_min_responses', 'nps_monitor_weeks', 'nps_low_volume_ratio', 'nps_unusual_z', 'nps_monitor_severity'] -%}
        {%- set given = invocation_args_dict.get('vars') or {} -%}
        {%- for name in given if name not in known -%}
            {{ exceptions.raise_compiler_error("unknown var '" ~ name ~ "': this project reads " ~ known | join(', ') ~ " (written {run_date: 2021-09-16})") }}
        {%- endfor -%}
        {%- do nps_batch_vars() -%}
        {%- do nps_reporting_timezone() -%}
        {%- do nps_min_responses() -%}
        {%- do nps_monitor_weeks() -%}
        {%- do nps_low_volume_ratio() -%}
        {%- do nps_unusual_z() -%}
        {%- if var('nps_monitor_severity') not in ('warn', 'error') -%}
            {{ exceptions.raise_compiler_error("var nps_monitor_severity must be warn or error, got '" ~ var('nps_monitor_severity') ~ "'") }}
        {%- endif -%}
        {%- if flags.WHICH in ('run', 'build') -%}
            {%- do nps_check_warehouse() -%}
            {%- do nps_acquire_run_lock() -%}
        {%- elif flags.WHICH == 'test' -%}
            {%- do nps_check_models_built() -%}
        {%- endif -%}
    {%- endif -%}
    select 1
{% endmacro %}


{% macro nps_check_models_built() %}
    {#- dbt test before the first dbt run: one line saying so, not an error per data test. -#}
    {%- set node = graph.nodes['model.nps_warehouse.int_nps_responses_current'] -%}
    {%- if adapter.get_relation(database=node.database, schema=node.schema, identifier=node.alias) is none -%}
        {{ exceptions.raise_compiler_error("the models have not been built in schema " ~ node.schema ~ " of " ~ nps_target_description() ~ " yet: run `dbt run` (or `dbt build`, which runs and tests) before `dbt test`") }}
    {%- endif -%}
{% endmacro %}


{% macro nps_check_warehouse() %}
    {#-
        Before models run: the raw table must exist (the loader creates it), the stored current
        state must have been built in the same reporting zone, and a batch that matches no raw
        row is announced (it would otherwise "succeed" having read nothing).
    -#}
    {#- ref() and source() cannot be used in a hook: the graph gives the same relations. -#}
    {%- set raw_node = graph.sources['source.nps_warehouse.nps_raw.nps'] -%}
    {%- set raw = adapter.get_relation(database=raw_node.database, schema=raw_node.schema, identifier=raw_node.identifier) -%}
    {%- if raw is none -%}
        {{ exceptions.raise_compiler_error("raw table " ~ raw_node.schema ~ "." ~ raw_node.identifier ~ " does not exist yet in " ~ nps_target_description() ~ ": load a day first (nps-loader run --date D), or set NPS_RAW_SCHEMA to the loader's --raw-schema; for the demo, `source demo.env` first") }}
    {%- endif -%}
    {%- set zone = nps_reporting_timezone() -%}
    {%- set current_node = graph.nodes['model.nps_warehouse.int_nps_responses_current'] -%}
    {%- set current = adapter.get_relation(database=current_node.database, schema=current_node.schema, identifier=current_node.alias) -%}
    {%- if not flags.FULL_REFRESH and current is not none -%}
        {#- One row is enough (every row has the run's zone: a run in another zone stops here);
            a distinct over the table would scan the whole current state on every run. -#}
        {%- set stored = run_query('select _reporting_timezone from ' ~ current ~ ' limit 1').columns[0].values() | list -%}
        {%- for other in stored if other != zone -%}
            {{ exceptions.raise_compiler_error("the marts were built with reporting_timezone '" ~ other ~ "' and this run asks for '" ~ zone ~ "': mixing zones would count some responses on the wrong day. Rebuild them in the new zone with `dbt run --full-refresh --vars '{reporting_timezone: " ~ zone ~ "}'` (and set NPS_REPORTING_TIMEZONE for the loader)") }}
        {%- endfor -%}
    {%- endif -%}
    {%- set batch = nps_batch_vars() -%}
    {%- if batch.mode != 'since_last_run' and not flags.FULL_REFRESH -%}
        {#- raw.nps_loads, not raw.nps: a day loaded with no rows (an empty day in the source) is
            loaded, and only a day that was never loaded is announced. -#}
        {%- set loads = adapter.get_relation(database=raw_node.database, schema=raw_node.schema, identifier='nps_loads') -%}
        {%- set log = loads if loads is not none else raw -%}
        {%- set day_column = 'run_date' if loads is not none else '_run_date' -%}
        {%- set found = run_query("select 1 from " ~ log ~ " where " ~ day_column ~ " between cast('" ~ batch.start ~ "' as date) and cast('" ~ batch.end ~ "' as date) limit 1").rows | length -%}
        {%- if found == 0 -%}
            {%- set days = batch.start if batch.start == batch.end else batch.start ~ '..' ~ batch.end -%}
            {%- do exceptions.warn("nps: no raw rows were loaded for " ~ days ~ " (" ~ log ~ " has no load of that day): this run folds in nothing. Load the day first: nps-loader run --date " ~ batch.start) -%}
        {%- endif -%}
    {%- endif -%}
{% endmacro %}


{% macro nps_log_flagged_days() %}
    {#-
        on-run-end of dbt run and dbt build: one log line per day that nps_day_monitors flags
        among the days the last recount wrote, so the run's log (the Airflow dbt_build task's)
        says which day looks broken and why, next to the warning of no_day_looks_broken.
    -#}
    {%- if execute and flags.WHICH in ('run', 'build') -%}
        {%- set monitors = graph.nodes.get('model.' ~ project_name ~ '.nps_day_monitors') -%}
        {%- set counts = graph.nodes['model.' ~ project_name ~ '.int_nps_daily_counts'] -%}
        {%- if monitors and adapter.get_relation(database=monitors.database, schema=monitors.schema, identifier=monitors.alias) is not none -%}
            {%- set flagged -%}
                select response_date, responses, expected_responses, is_low_volume, nps, trailing_nps, nps_z, is_unusual_nps
                from {{ monitors.relation_name }}
                where (is_low_volume or is_unusual_nps)
                    and response_date in (
                        select response_date from {{ counts.relation_name }}
                        where _batch_at = (select max(_batch_at) from {{ counts.relation_name }})
                    )
                order by response_date
            {%- endset -%}
            {%- for row in run_query(flagged).rows -%}
                {%- set why = [] -%}
                {%- if row[3] -%}
                    {%- do why.append('low volume: ' ~ row[1] ~ ' responses, expected ' ~ row[2]) -%}
                {%- endif -%}
                {%- if row[7] -%}
                    {%- do why.append('unusual NPS: ' ~ row[4] ~ ' against ' ~ row[5] ~ ' over the 28 days before (z = ' ~ row[6] ~ ')') -%}
                {%- endif -%}
                {%- do log('nps_day_monitors: WARN ' ~ row[0] ~ ' looks broken: ' ~ why | join('; '), info=true) -%}
            {%- endfor -%}
        {%- endif -%}
    {%- endif -%}
    select 1
{% endmacro %}


{% macro nps_target_description() %}
    {#- Which warehouse a first-time message is about: a forgotten `source demo.env` would
        otherwise go unseen (dbt-duckdb creates the profile's file, ./warehouse.duckdb). -#}
    {%- if target.type == 'duckdb' -%}
        {%- set path = target.path if target.path.startswith('/') or target.path.startswith(':') else './' ~ target.path -%}
        {{- return("target " ~ target.name ~ " (DuckDB file " ~ path ~ ")") -}}
    {%- else -%}
        {{- return("target " ~ target.name ~ " (" ~ target.type ~ " " ~ target.host ~ ":" ~ target.port ~ "/" ~ target.database ~ ")") -}}
    {%- endif -%}
{% endmacro %}

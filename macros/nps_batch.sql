{#-
    The predicate the current-state model filters raw with (which loads a run folds in; the vars
    are in nps_vars.sql), and the run's own timestamp.
-#}

{% macro nps_batch_predicate() -%}
    {#- The raw rows an incremental run of the current-state model reads (see dbt_project.yml
        vars), as a predicate on literals: raw.nps is sorted on (_run_date, _loaded_at), and a
        zone map can skip blocks for a literal bound, never for a subquery's result. -#}
    {%- set batch = nps_batch_vars() -%}
    {%- if batch.mode == 'since_last_run' -%}
        _loaded_at > {{ nps_loaded_since() }}
    {%- else -%}
        _run_date between cast('{{ batch.start }}' as date) and cast('{{ batch.end }}' as date)
    {%- endif -%}
{%- endmacro %}


{% macro nps_loaded_since() -%}
    {#- Run without date vars: the raw rows loaded after the newest load the current state has
        seen (_seen_through), less the lookback (a load that committed while the last run was
        under way): a literal, computed here; in a dbt unit test, the same as an expression. -#}
    {%- set lookback = var('loaded_at_lookback_minutes') | int -%}
    {%- if not nps_can_look_up() -%}
        {{ return(dbt.dateadd('minute', -1 * lookback,
            'coalesce((select max(_seen_through) from ' ~ this ~ '), ' ~ nps_low_timestamp() ~ ')')) }}
    {%- endif -%}
    {%- set seen = run_query('select max(_seen_through) from ' ~ this).columns[0].values()[0] -%}
    {%- if seen is none -%}
        {{ return(nps_low_timestamp()) }}
    {%- endif -%}
    {%- if seen is string -%}
        {%- set seen = modules.datetime.datetime.fromisoformat(seen) -%}
    {%- endif -%}
    {%- set since = seen - modules.datetime.timedelta(minutes=lookback) -%}
    {{ return(nps_timestamp_literal(since.strftime('%Y-%m-%d %H:%M:%S.%f'))) }}
{%- endmacro %}


{% macro nps_looked_up(scalar_sql) -%}
    {#- The value of a one-value query, looked up before the model's SQL is written and inlined
        as a literal: a zone map (Redshift) or an index (PostgreSQL) can prune on a literal,
        never on a subquery's result. In a dbt unit test (whose `this` and refs are fixtures)
        the subquery itself, with the same meaning. -#}
    {%- if not nps_can_look_up() -%}
        {{ return('(' ~ scalar_sql ~ ')') }}
    {%- endif -%}
    {%- set value = run_query(scalar_sql).columns[0].values()[0] -%}
    {%- if value is none -%}
        {{ return('cast(null as ' ~ dbt.type_timestamp() ~ ')') }}
    {%- endif -%}
    {{ return(nps_timestamp_literal(value)) }}
{%- endmacro %}


{% macro nps_id_ranges(ids_sql, column, max_ranges=64) %}
    {#- `column` within the id ranges of the ids `ids_sql` selects, as literals: at most
        max_ranges ranges, split at the widest gaps between consecutive ids. A zone map skips
        every block whose ids fall outside them (ids grow with created_at, which the current
        state is sorted on), where a join on the ids alone reads the whole id column. -#}
    {%- if not nps_can_look_up() -%}
        {{ return('1 = 1') }}
    {%- endif -%}
    {%- set gaps_sql -%}
        with batch_ids as (
            select distinct id from ({{ ids_sql }}) as batch_rows
        ),
        steps as (
            select id, lag(id) over (order by id) as previous_id from batch_ids
        ),
        widest as (
            select
                previous_id,
                id,
                row_number() over (order by id - previous_id desc, id) as gap_rank
            from steps
            where id - previous_id > 1
        )
        select 'gap' as kind, previous_id, id from widest where gap_rank < {{ max_ranges }}
        union all
        select 'all' as kind, min(id), max(id) from batch_ids
    {%- endset -%}
    {%- set first, last, cuts = [], [], [] -%}
    {%- for row in run_query(gaps_sql).rows -%}
        {%- if row[0] == 'all' and row[1] is not none -%}
            {%- do first.append(row[1] | int) -%}
            {%- do last.append(row[2] | int) -%}
        {%- elif row[0] == 'gap' -%}
            {%- do cuts.append((row[2] | int, row[1] | int)) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if not first -%}
        {{ return('1 = 0') }}
    {%- endif -%}
    {%- set cuts = cuts | sort -%}
    {%- set starts = first + (cuts | map(attribute=0) | list) -%}
    {%- set ends = (cuts | map(attribute=1) | list) + last -%}
    {%- set ranges = [] -%}
    {%- for i in range(starts | length) -%}
        {%- do ranges.append(column ~ ' between ' ~ starts[i] ~ ' and ' ~ ends[i]) -%}
    {%- endfor -%}
    {{ return('(' ~ ranges | join(' or ') ~ ')') }}
{% endmacro %}


{% macro nps_can_look_up() %}
    {#- Whether a model may query the warehouse while its SQL is written: at run time, and not
        in a dbt unit test (whose refs and `this` are CTEs of fixtures, not tables). -#}
    {{ return(execute and model.resource_type != 'unit_test') }}
{% endmacro %}


{% macro nps_run_timestamp() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}

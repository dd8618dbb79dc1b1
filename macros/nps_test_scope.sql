{#-
    What the data tests of the big tables read. A daily run (`dbt build --vars '{run_date: D}'`,
    or start_date/end_date) tests only what it loaded and recounted, on literals a zone map
    prunes; a run without date vars (the weekly full check, docs/operations.md) tests every row.

    - `where: "__nps_load_days__"` in a test's config: the rows of the run's load days
      (`_run_date`, raw.nps's leading sort key; in the current state it follows response_date,
      its sort key, as a day is loaded the day it is answered or soon after);
    - `where: "__nps_recounted_days__"`, or nps_recounted_days('response_date') in a singular
      test: the days the last recount of int_nps_daily_counts wrote (a one-row-per-day table),
      as a literal list on the current state's sort key;
    - `where: "__nps_weekly__"`: nothing on a dated run (`1 = 0`, which reads no block), every
      row without date vars: for views with no day to scope by (nps_rejected_responses).
-#}

{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') or '' -%}
    {%- if '__nps_load_days__' in where -%}
        {%- set where = where | replace('__nps_load_days__', nps_load_days()) -%}
    {%- endif -%}
    {%- if '__nps_recounted_days__' in where -%}
        {%- set where = where | replace('__nps_recounted_days__', nps_recounted_days('response_date')) -%}
    {%- endif -%}
    {%- if '__nps_weekly__' in where -%}
        {%- set dated = nps_batch_vars().mode != 'since_last_run' -%}
        {%- set where = where | replace('__nps_weekly__', '1 = 0' if dated else '1 = 1') -%}
    {%- endif -%}
    {%- if where -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {{ return(filtered) }}
    {%- endif -%}
    {{ return(relation) }}
{%- endmacro %}


{% macro nps_load_days() -%}
    {%- set batch = nps_batch_vars() -%}
    {%- if batch.mode == 'since_last_run' -%}
        {{ return('1 = 1') }}
    {%- endif -%}
    {{ return("_run_date between cast('" ~ batch.start ~ "' as date) and cast('" ~ batch.end ~ "' as date)") }}
{%- endmacro %}


{% macro nps_recounted_days(column) -%}
    {%- set batch = nps_batch_vars() -%}
    {%- if batch.mode == 'since_last_run' or not execute -%}
        {{ return('1 = 1') }}
    {%- endif -%}
    {#- from the graph, not ref(): a test's where is rendered after dbt has fixed its
        dependencies, and the counts were built before any test that reads the marts -#}
    {%- set counts = graph.nodes['model.' ~ project_name ~ '.int_nps_daily_counts'].relation_name -%}
    {%- set days = run_query(
        'select response_date from ' ~ counts ~ ' where _batch_at = (select max(_batch_at) from '
        ~ counts ~ ')').columns[0].values() | map('string') | sort | list -%}
    {%- if not days -%}
        {{ return('1 = 0') }}
    {%- endif -%}
    {{ return(column ~ ' in (' ~ nps_date_list(days) ~ ')') }}
{%- endmacro %}

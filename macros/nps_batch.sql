{#-
    The predicate the current-state model filters raw with (which loads a run folds in; the vars
    are in nps_vars.sql), and the run's own timestamp.
-#}

{% macro nps_batch_predicate() -%}
    {#- The raw rows an incremental run of the current-state model reads (see dbt_project.yml vars). -#}
    {%- set batch = nps_batch_vars() -%}
    {%- if batch.mode == 'since_last_run' -%}
        _loaded_at > (
            select
                {{ dbt.dateadd('minute', -1 * var('loaded_at_lookback_minutes'),
                    'coalesce(max(_seen_through), ' ~ nps_low_timestamp() ~ ')') }}
            from {{ this }}
        )
    {%- else -%}
        _run_date between cast('{{ batch.start }}' as date) and cast('{{ batch.end }}' as date)
    {%- endif -%}
{%- endmacro %}


{% macro nps_run_timestamp() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}

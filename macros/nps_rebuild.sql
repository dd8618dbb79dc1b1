{#-
    `dbt run --full-refresh` on the intermediate tables: they are configured full_refresh: false,
    so dbt keeps them and runs them incrementally; the models see nps_rebuilding() and recompute
    every row from raw, and this pre-hook (inside the model's transaction) empties the table first.
    Readers keep seeing the previous state until the transaction commits, and the mart views
    built on these tables are never dropped.
-#}

{% macro nps_rebuilding() %}
    {{ return(not is_incremental() or flags.FULL_REFRESH) }}
{% endmacro %}


{% macro nps_rebuild_in_place() %}
    {%- if is_incremental() and flags.FULL_REFRESH -%}
        delete from {{ this }}
    {%- else -%}
        select 1
    {%- endif -%}
{% endmacro %}

{% macro nps_daily_counts_need_recount() %}
    {#-
        True when int_nps_daily_counts cannot rely on previous_response_date alone and must
        recount every day:
        - it has never counted anything;
        - every stored response is newer than its last count (the current-state model was rebuilt);
        - a response written since its last count replaced a version that was not yet counted
          either (a run failed in between), so the day that earlier version came from is unknown.
    -#}
    {%- if not execute -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set current = ref('int_nps_responses_current') -%}
    {%- set query -%}
        with watermark as (
            select max(_batch_at) as counted_through from {{ this }}
        )
        select
            case
                when counted_through is null then 1
                when (select min(_batch_at) from {{ current }}) > counted_through then 1
                when exists (
                    select 1 from {{ current }} as changed
                    where changed._batch_at > counted_through
                        and changed._previous_batch_at > counted_through
                ) then 1
                else 0
            end as recount_all
        from watermark
    {%- endset -%}
    {%- set recount_all = run_query(query).columns[0].values()[0] -%}
    {{ return(recount_all | int == 1) }}
{% endmacro %}

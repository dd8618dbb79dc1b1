{{
    config(
        unique_key='response_date',
        indexes=[{'columns': ['response_date'], 'unique': true}],
    )
}}

{#-
    Response counts per UTC day of created_at, zero rows included for days that lost their
    last response (nps_summary_daily hides those). An incremental run recounts only the days
    that the responses written since its last run came from or went to: a late update or
    delete restates the old day it belongs to.

    If the current-state model was rebuilt, or a response changed twice before this model saw
    the first change (a failed run in between), the previous day of that response is no longer
    known: this model then recounts every day.
-#}

{%- set recount_all = nps_rebuilding() or nps_daily_counts_need_recount() %}

with

responses as (

    select * from {{ ref('int_nps_responses_current') }}

),

{% if recount_all %}

changed_dates as (

    select distinct response_date from responses where response_date is not null
    {% if not nps_rebuilding() -%}
    union
    select response_date from {{ this }}
    {%- endif %}

),

{% else %}

watermark as (

    select max(_batch_at) as counted_through from {{ this }}

),

changed_responses as (

    select responses.*
    from responses
    cross join watermark
    where responses._batch_at > watermark.counted_through

),

changed_dates as (

    select response_date from changed_responses
    where response_date is not null
    union
    select previous_response_date from changed_responses
    where previous_response_date is not null

),

{% endif %}

counted as (

    select
        changed_dates.response_date,
        count(valid_responses.id) as responses,
        coalesce(sum(case when valid_responses.category = 'promoter' then 1 else 0 end), 0) as promoters,
        coalesce(sum(case when valid_responses.category = 'passive' then 1 else 0 end), 0) as passives,
        coalesce(sum(case when valid_responses.category = 'detractor' then 1 else 0 end), 0) as detractors

    from changed_dates
    left join responses as valid_responses
        on
            changed_dates.response_date = valid_responses.response_date
            and not valid_responses.is_deleted
            and valid_responses.reject_reason is null

    group by changed_dates.response_date

),

final as (

    select
        response_date,
        cast(responses as {{ dbt.type_bigint() }}) as responses,
        cast(promoters as {{ dbt.type_bigint() }}) as promoters,
        cast(passives as {{ dbt.type_bigint() }}) as passives,
        cast(detractors as {{ dbt.type_bigint() }}) as detractors,
        (select max(all_responses._batch_at) from responses as all_responses) as _batch_at

    from counted

)

select * from final

{#- Redshift keys: one row per day, a copy on every node, sorted on the day it is read by. -#}
{{
    config(
        unique_key='response_date',
        dist='all',
        sort=['response_date'],
        indexes=nps_indexes([{'columns': ['response_date'], 'unique': true}]),
    )
}}

{#-
    Response counts per day of created_at in the reporting zone, zero rows included for days that lost their
    last response (nps_summary_daily hides those). An incremental run recounts only the days
    that the responses written since its last run came from or went to: a late update or
    delete restates the old day it belongs to.

    If the current-state model was rebuilt, or a response changed twice before this model saw
    the first change (a failed run in between), the previous day of that response is no longer
    known: this model then recounts every day.

    Each recounted row also keeps what the day showed before (previous_*: null when it had no
    row) and why it changed (responses_added, removed_by_delete, ...: null when the previous state
    is not known), which nps_restatements records.
-#}

{%- set plan = nps_daily_counts_plan() %}

with

{% if plan.recount_all %}

responses as (

    select * from {{ ref('int_nps_responses_current') }}

),

changed_dates as (

    select distinct response_date from responses
    where response_date is not null
    {% if not nps_rebuilding() -%}
        union
        select response_date from {{ this }}
    {%- endif %}

),

stored as (

    {{ nps_stored_counts() }}

),

{{ nps_unknown_reasons() }}

{% elif plan.dates %}

responses as (

    select * from {{ ref('int_nps_responses_current') }}
    where response_date in ({{ nps_date_list(plan.dates) }})

),

changed_dates as (

    {% for d in plan.dates -%}
        select cast('{{ d }}' as date) as response_date
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

stored as (

    select * from {{ this }}
    where response_date in ({{ nps_date_list(plan.dates) }})

),

{{ nps_restatement_reasons(plan) }}

{% else %}

responses as (

    select * from {{ ref('int_nps_responses_current') }}
    where 1 = 0

),

changed_dates as (

    select response_date from responses

),

stored as (

    select * from {{ this }}
    where 1 = 0

),

{{ nps_unknown_reasons() }}

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
        counted.response_date,
        cast(counted.responses as {{ dbt.type_bigint() }}) as responses,
        cast(counted.promoters as {{ dbt.type_bigint() }}) as promoters,
        cast(counted.passives as {{ dbt.type_bigint() }}) as passives,
        cast(counted.detractors as {{ dbt.type_bigint() }}) as detractors,
        {{ nps_counted_through(plan) }} as _batch_at,
        -- what the day showed before this recount (null: it had no row), and why it changed
        stored.responses as previous_responses,
        stored.promoters as previous_promoters,
        stored.passives as previous_passives,
        stored.detractors as previous_detractors,
        {{ nps_reason_columns('reasons', known=not plan.recount_all and not nps_rebuilding()) }}

    from counted
    left join stored on counted.response_date = stored.response_date
    left join reasons on counted.response_date = reasons.response_date

)

select * from final

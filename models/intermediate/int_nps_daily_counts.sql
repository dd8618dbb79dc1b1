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

    The plan (macros/nps_daily_counts.sql) decides only the filters: which days are recounted,
    and whether the changes' reasons are known.
-#}

{%- set plan = nps_daily_counts_plan() %}

with

responses as (

    select * from {{ ref('int_nps_responses_current') }}
    where {{ nps_recount_filter(plan) }}

),

stored as (

    {#- what the recounted days showed before: nothing on a rebuild -#}
    {% if nps_rebuilding() %}
    {{ nps_no_counts() }}
    {% else %}
    select * from {{ this }}
    where {{ nps_recount_filter(plan) }}
    {% endif %}

),

recounted_dates as (

    {#- the days of the responses, and the days that had a row (they may have lost them all) -#}
    select response_date from responses
    where response_date is not null
    union
    select response_date from stored

),

changes as (

    {#- the responses written since the last count, where they were counted before and now -#}
    select
        response_date,
        previous_response_date,
        category,
        previous_category,
        is_deleted,
        _correction,
        (not is_deleted and reject_reason is null) as is_counted,
        previous_category is not null as was_counted

    from {{ ref('int_nps_responses_current') }}
    where {{ nps_changes_filter(plan) }}

),

classified as (

    {#- one row per change and day it touches: (day, reason) -#}
    select
        response_date,
        'responses_added' as reason
    from changes
    where is_counted and not was_counted
    union all
    select
        previous_response_date as response_date,
        case
            when is_deleted and _correction = 'deleted_from_source' then 'removed_by_reconcile'
            when is_deleted then 'removed_by_delete'
            else 'removed_as_invalid'
        end as reason
    from changes
    where was_counted and not is_counted
    union all
    select
        response_date,
        'moved_between_categories' as reason
    from changes
    where
        is_counted and was_counted
        and previous_response_date = response_date and previous_category != category
    union all
    select
        response_date,
        'moved_from_another_day' as reason
    from changes
    where is_counted and was_counted and previous_response_date != response_date
    union all
    select
        previous_response_date as response_date,
        'moved_to_another_day' as reason
    from changes
    where is_counted and was_counted and previous_response_date != response_date

),

reasons as (

    select
        response_date,
        {{- nps_reason_sums('reason') }}

    from classified
    group by response_date

),

counted as (

    select
        recounted_dates.response_date,
        {{ nps_category_counts('valid_responses') }}

    from recounted_dates
    left join responses as valid_responses
        on
            recounted_dates.response_date = valid_responses.response_date
            and not valid_responses.is_deleted
            and valid_responses.reject_reason is null

    group by recounted_dates.response_date

),

final as (

    select
        counted.response_date,
        {%- for m in nps_counts() %}
        cast(counted.{{ m }} as {{ dbt.type_bigint() }}) as {{ m }},
        {%- endfor %}
        {{ nps_counted_through(plan) }} as _batch_at,
        -- what the day showed before this recount (null: it had no row), and why it changed
        {%- for m in nps_counts() %}
        stored.{{ m }} as previous_{{ m }},
        {%- endfor %}
        {{ nps_reason_columns('reasons', known=nps_reasons_known(plan)) }}

    from counted
    left join stored on counted.response_date = stored.response_date
    left join reasons on counted.response_date = reasons.response_date

)

select * from final

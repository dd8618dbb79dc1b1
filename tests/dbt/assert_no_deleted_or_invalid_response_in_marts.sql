-- No response whose latest version is deleted or invalid may appear in fct_nps_responses,
-- and the daily summary counts exactly the responses of fct_nps_responses.
-- A dated run checks the days it recounted; a run without date vars, every day.
with

current_state as (

    select * from {{ ref('int_nps_responses_current') }}
    where {{ nps_recounted_days('response_date') }}

),

fct as (

    select * from {{ ref('fct_nps_responses') }}
    where {{ nps_recounted_days('response_date') }}

),

daily as (

    select * from {{ ref('nps_summary_daily') }}
    where {{ nps_recounted_days('response_date') }}

),

leaked as (

    select
        fct.id,
        'deleted or invalid response in fct_nps_responses' as problem
    from fct
    inner join current_state
        on fct.id = current_state.id
    where
        current_state.is_deleted
        or current_state.reject_reason is not null

),

fct_per_day as (

    select
        response_date,
        count(*) as responses
    from fct
    group by response_date

),

miscounted as (

    select
        cast(null as {{ dbt.type_bigint() }}) as id,
        'daily summary disagrees with fct_nps_responses' as problem
    from fct_per_day
    full outer join daily
        on fct_per_day.response_date = daily.response_date
    where
        fct_per_day.responses is null
        or daily.responses is null
        or fct_per_day.responses <> daily.responses

)

select * from leaked
union all
select * from miscounted

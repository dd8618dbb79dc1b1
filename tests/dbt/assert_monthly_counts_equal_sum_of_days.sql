-- Each month's counts equal the sum of its days' counts (and no month or day is missing).
with

daily as (

    select
        cast({{ dbt.date_trunc('month', 'response_date') }} as date) as response_month,
        sum(responses) as responses,
        sum(promoters) as promoters,
        sum(passives) as passives,
        sum(detractors) as detractors
    from {{ ref('nps_summary_daily') }}
    group by 1

),

monthly as (

    select * from {{ ref('nps_summary_monthly') }}

)

select
    coalesce(daily.response_month, monthly.response_month) as response_month,
    daily.responses as daily_responses,
    monthly.responses as monthly_responses
from daily
full outer join monthly
    on daily.response_month = monthly.response_month
where
    daily.response_month is null
    or monthly.response_month is null
    or daily.responses <> monthly.responses
    or daily.promoters <> monthly.promoters
    or daily.passives <> monthly.passives
    or daily.detractors <> monthly.detractors

-- The category of every response agrees with the model nps_score_bands that documents the NPS bands
-- (a dated run checks the days it recounted; a run without date vars, every day).
select
    fct.id,
    fct.score,
    fct.category,
    bands.category as expected_category
from {{ ref('fct_nps_responses') }} as fct
left join {{ ref('nps_score_bands') }} as bands
    on fct.score = bands.score
where
    {{ nps_recounted_days('fct.response_date') }}
    and (
        bands.category is null
        or fct.category <> bands.category
    )

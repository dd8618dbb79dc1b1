-- The category of every response agrees with the model nps_score_bands that documents the NPS bands.
select
    fct.id,
    fct.score,
    fct.category,
    bands.category as expected_category
from {{ ref('fct_nps_responses') }} as fct
left join {{ ref('nps_score_bands') }} as bands
    on fct.score = bands.score
where
    bands.category is null
    or fct.category <> bands.category

{#-
    The NPS bands as a reference table, written out score by score, so that the singular test
    assert_categories_match_score_bands checks the category macro against an independent
    statement. A model, not a seed: `dbt run` builds it, so `dbt test` never needs `dbt seed`.
-#}

with

bands as (

    select
        cast(0 as integer) as score,
        cast('detractor' as {{ dbt.type_string() }}) as category
    union all
    select
        cast(1 as integer) as score,
        cast('detractor' as {{ dbt.type_string() }}) as category
    union all
    select
        cast(2 as integer) as score,
        cast('detractor' as {{ dbt.type_string() }}) as category
    union all
    select
        cast(3 as integer) as score,
        cast('detractor' as {{ dbt.type_string() }}) as category
    union all
    select
        cast(4 as integer) as score,
        cast('detractor' as {{ dbt.type_string() }}) as category
    union all
    select
        cast(5 as integer) as score,
        cast('detractor' as {{ dbt.type_string() }}) as category
    union all
    select
        cast(6 as integer) as score,
        cast('detractor' as {{ dbt.type_string() }}) as category
    union all
    select
        cast(7 as integer) as score,
        cast('passive' as {{ dbt.type_string() }}) as category
    union all
    select
        cast(8 as integer) as score,
        cast('passive' as {{ dbt.type_string() }}) as category
    union all
    select
        cast(9 as integer) as score,
        cast('promoter' as {{ dbt.type_string() }}) as category
    union all
    select
        cast(10 as integer) as score,
        cast('promoter' as {{ dbt.type_string() }}) as category

)

select * from bands

-- The arms the models compare for a cut: every arm of ref.arms in its order, then any other arm
-- present in analysis.participants (an arm without participants yet gives 'not fitted' rows).
with
arms as (
    select arm, sort from ref.arms
    union all
    select distinct arm, null as sort from analysis.participants
    where data_cut = $cut and arm not in (select arm from ref.arms)
)

select arm from arms
order by sort nulls last, arm;

-- The arms the models compare for a cut: one row per arm present, in the order of ref.arms.
select p.arm
from analysis.participants as p
left join ref.arms as a on p.arm = a.arm
where p.data_cut = $cut
group by p.arm
order by min(a.sort) nulls last, p.arm;

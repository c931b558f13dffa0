-- The models' covariates for a cut: one row per randomised participant.
select record_id, sex, adherent
from analysis.participants
where data_cut = $cut
order by try_cast(record_id as integer), record_id;

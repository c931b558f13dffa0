-- The model results of the newest cut analysed before $cut, by the fit they came from (fit_hash):
-- a fit of $cut with the same key is copied from them instead of being fitted again (its role and
-- adjusted p-value are computed again, over the new cut's results).
select * exclude (data_cut)
from analysis.model_results
where
    fit_hash is not null
    and data_cut = (select max(data_cut) from analysis.model_results where data_cut < $cut);

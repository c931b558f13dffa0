-- CONSORT boxes of a cut, in stage order.
select stage_order, stage, box, arm, n
from analysis.consort_flow
where data_cut = $cut
order by stage_order, box, arm;

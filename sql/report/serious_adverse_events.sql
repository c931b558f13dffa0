-- Serious adverse events of a cut, one row each: participant, arm (blinded letter), onset date and
-- day from randomisation, description, severity, relatedness and the actions taken. The trial's
-- adverse_event form records no expectedness, outcome or date of resolution.
with events as (
    select *
    from clean.adverse_event
    where valid_at(valid_from_cut, valid_to_cut, $cut) and ae_serious
),

ticked as (
    unpivot (select record_id, event, instance, columns('^ae_action___') from events)
    on columns('^ae_action___')
    into name column_name value ticked
),

actions as (
    select t.record_id, t.event, t.instance, string_agg(c.label, '; ' order by c.code) as actions
    from ticked as t
    inner join ref.checkbox_columns as c on c.field = 'ae_action' and t.column_name = c."column"
    where t.ticked
    group by all
),

final as (
    select
        e.record_id,
        p.arm,
        e.instance,
        strftime(e.ae_onset, '%Y-%m-%d') as onset_date,
        e.ae_onset - p.rand_date as onset_day,
        e.ae_desc as description,
        sev.label as severity,
        rel.label as relatedness,
        a.actions
    from events as e
    inner join analysis.participants as p on p.data_cut = $cut and e.record_id = p.record_id
    left join actions as a on e.record_id = a.record_id and e.event = a.event and e.instance = a.instance
    left join ref.choices as sev on sev.field = 'ae_severity' and e.ae_severity = sev.code
    left join ref.choices as rel on rel.field = 'ae_related' and e.ae_related = rel.code
)

select * from final order by onset_date, try_cast(record_id as integer), record_id, instance;

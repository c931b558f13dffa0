-- analysis.participants for a cut: one row per randomised participant (ADaM ADSL-like).
insert into analysis.participants
with
randomisation as (
    select record_id, rand_date, rand_group
    from clean.randomisation
    where valid_at(valid_from_cut, valid_to_cut, $cut)
),

screening as (
    select record_id, sex, age
    from clean.screening
    where valid_at(valid_from_cut, valid_to_cut, $cut)
),

sessions as (
    select
        record_id,
        count(*) filter (where sess_type = '1' and sess_done) as supervised_done,
        count(*) filter (where sess_type = '2' and sess_done) as home_done
    from clean.session_log
    where valid_at(valid_from_cut, valid_to_cut, $cut)
    group by record_id
),

study_end as (
    select record_id, end_status, end_date
    from clean.study_end
    where valid_at(valid_from_cut, valid_to_cut, $cut)
),

settings as (
    select
        max(value) filter (where name = 'supervised_planned') as supervised_planned,
        max(value) filter (where name = 'adherent_min') as adherent_min
    from ref.settings
),

final as (
    select
        $cut as data_cut,
        r.record_id,
        a.arm,
        sex.label as sex,
        s.age,
        r.rand_date,
        coalesce(n.supervised_done, 0) as supervised_done,
        coalesce(n.home_done, 0) as home_done,
        coalesce(n.supervised_done, 0) / settings.supervised_planned as adherence,
        coalesce(n.supervised_done, 0) >= settings.adherent_min as adherent,
        coalesce(n.supervised_done, 0) > 0 as received_programme,
        coalesce(status.label, 'Ongoing') as status,
        e.end_date
    from randomisation as r
    inner join ref.arms as a on r.rand_group = a.code
    cross join settings
    left join screening as s using (record_id)
    left join ref.choices as sex on sex.field = 'sex' and s.sex = sex.code
    left join sessions as n using (record_id)
    left join study_end as e using (record_id)
    left join ref.choices as status on status.field = 'end_status' and e.end_status = status.code
)

select * from final;

-- analysis.adherence for a cut: one row per arm (sessions done, adherence, adherent participants).
insert into analysis.adherence
with
participants as (
    select * from analysis.participants where data_cut = $cut
),

final as (
    select
        $cut as data_cut,
        arm,
        count(*) as participants,
        count(*) filter (where received_programme) as received_programme,
        avg(supervised_done order by record_id) as supervised_mean,
        stddev_samp(supervised_done order by record_id) as supervised_sd,
        quantile_cont(supervised_done, 0.5) as supervised_median,
        avg(adherence order by record_id) as adherence_mean,
        count(*) filter (where adherent) as adherent,
        100.0 * count(*) filter (where adherent) / count(*) as adherent_pct,
        avg(home_done order by record_id) as home_mean
    from participants
    group by arm
)

select * from final;

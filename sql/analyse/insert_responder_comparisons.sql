-- Stores the responder comparisons of a cut (one row per timepoint x parameter x population x pair of arms).
insert into analysis.responder_comparisons by name
select * from responder_comparisons_rows;

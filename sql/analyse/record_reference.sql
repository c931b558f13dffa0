-- Records the SHA-256 of the reference tables just written.
delete from meta.reference_written;
insert into meta.reference_written (content_hash) values ($content_hash);

-- Records with a currently valid row in clean.<form> (one row per record).
select distinct record_id from clean.{{ form }} where valid_to_cut is null;

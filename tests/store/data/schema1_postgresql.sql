--
-- PostgreSQL database dump
--


-- Dumped from database version 15.20 (Debian 15.20-0+deb12u1)
-- Dumped by pg_dump version 15.20 (Debian 15.20-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: rs_schema1_fixture; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA rs_schema1_fixture;


--
-- Name: readerstudy_refuse_change(); Type: FUNCTION; Schema: rs_schema1_fixture; Owner: -
--

CREATE FUNCTION rs_schema1_fixture.readerstudy_refuse_change() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
    BEGIN
        RAISE EXCEPTION 'readerstudy: % on % is refused: the table is append-only',
            TG_OP, TG_TABLE_NAME;
    END $$;


SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: audit_chain_head; Type: TABLE; Schema: rs_schema1_fixture; Owner: -
--

CREATE TABLE rs_schema1_fixture.audit_chain_head (
    study_id character varying(128) NOT NULL,
    seq integer NOT NULL,
    hash character varying(64) NOT NULL
);


--
-- Name: audit_events; Type: TABLE; Schema: rs_schema1_fixture; Owner: -
--

CREATE TABLE rs_schema1_fixture.audit_events (
    study_id character varying(128) NOT NULL,
    seq integer NOT NULL,
    kind character varying(32) NOT NULL,
    reader character varying(128),
    session integer,
    "case" character varying(128),
    payload text NOT NULL,
    at timestamp with time zone NOT NULL,
    prev_hash character varying(64) NOT NULL,
    hash character varying(64) NOT NULL
);


--
-- Name: read_intervals; Type: TABLE; Schema: rs_schema1_fixture; Owner: -
--

CREATE TABLE rs_schema1_fixture.read_intervals (
    study_id character varying(128) NOT NULL,
    read_id integer NOT NULL,
    idx integer NOT NULL,
    kind character varying(16) NOT NULL,
    start timestamp with time zone NOT NULL,
    "end" timestamp with time zone
);


--
-- Name: read_units; Type: TABLE; Schema: rs_schema1_fixture; Owner: -
--

CREATE TABLE rs_schema1_fixture.read_units (
    study_id character varying(128) NOT NULL,
    read_id integer NOT NULL,
    unit character varying(32) NOT NULL,
    call smallint,
    rating double precision
);


--
-- Name: readerstudy_schema; Type: TABLE; Schema: rs_schema1_fixture; Owner: -
--

CREATE TABLE rs_schema1_fixture.readerstudy_schema (
    id integer NOT NULL,
    version integer NOT NULL,
    created_at timestamp with time zone NOT NULL,
    created_by character varying(64) NOT NULL
);


--
-- Name: readerstudy_schema_id_seq; Type: SEQUENCE; Schema: rs_schema1_fixture; Owner: -
--

CREATE SEQUENCE rs_schema1_fixture.readerstudy_schema_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: readerstudy_schema_id_seq; Type: SEQUENCE OWNED BY; Schema: rs_schema1_fixture; Owner: -
--

ALTER SEQUENCE rs_schema1_fixture.readerstudy_schema_id_seq OWNED BY rs_schema1_fixture.readerstudy_schema.id;


--
-- Name: reads; Type: TABLE; Schema: rs_schema1_fixture; Owner: -
--

CREATE TABLE rs_schema1_fixture.reads (
    id integer NOT NULL,
    study_id character varying(128) NOT NULL,
    reader character varying(128) NOT NULL,
    session integer NOT NULL,
    "case" character varying(128) NOT NULL,
    version integer NOT NULL,
    modality character varying(64) NOT NULL,
    ord integer NOT NULL,
    active_s double precision NOT NULL,
    wall_s double precision NOT NULL,
    started_at timestamp with time zone NOT NULL,
    submitted_at timestamp with time zone NOT NULL,
    flags text NOT NULL,
    extra text NOT NULL,
    amend_reason text
);


--
-- Name: reads_id_seq; Type: SEQUENCE; Schema: rs_schema1_fixture; Owner: -
--

CREATE SEQUENCE rs_schema1_fixture.reads_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: reads_id_seq; Type: SEQUENCE OWNED BY; Schema: rs_schema1_fixture; Owner: -
--

ALTER SEQUENCE rs_schema1_fixture.reads_id_seq OWNED BY rs_schema1_fixture.reads.id;


--
-- Name: reads_in_progress; Type: TABLE; Schema: rs_schema1_fixture; Owner: -
--

CREATE TABLE rs_schema1_fixture.reads_in_progress (
    study_id character varying(128) NOT NULL,
    reader character varying(128) NOT NULL,
    session integer NOT NULL,
    "case" character varying(128) NOT NULL,
    started_at timestamp with time zone NOT NULL,
    restarted_at timestamp with time zone,
    restarts integer NOT NULL
);


--
-- Name: study_meta; Type: TABLE; Schema: rs_schema1_fixture; Owner: -
--

CREATE TABLE rs_schema1_fixture.study_meta (
    study_id character varying(128) NOT NULL,
    key character varying(128) NOT NULL,
    value text NOT NULL,
    updated_at timestamp with time zone NOT NULL
);


--
-- Name: readerstudy_schema id; Type: DEFAULT; Schema: rs_schema1_fixture; Owner: -
--

ALTER TABLE ONLY rs_schema1_fixture.readerstudy_schema ALTER COLUMN id SET DEFAULT nextval('rs_schema1_fixture.readerstudy_schema_id_seq'::regclass);


--
-- Name: reads id; Type: DEFAULT; Schema: rs_schema1_fixture; Owner: -
--

ALTER TABLE ONLY rs_schema1_fixture.reads ALTER COLUMN id SET DEFAULT nextval('rs_schema1_fixture.reads_id_seq'::regclass);


--
-- Data for Name: audit_chain_head; Type: TABLE DATA; Schema: rs_schema1_fixture; Owner: -
--

INSERT INTO rs_schema1_fixture.audit_chain_head VALUES ('fixture', 15, '63c617e0d990d02753df09d418449e9aaf8797b0b0a31d8121b911abcbf04c29');


--
-- Data for Name: audit_events; Type: TABLE DATA; Schema: rs_schema1_fixture; Owner: -
--

INSERT INTO rs_schema1_fixture.audit_events VALUES ('fixture', 1, 'meta', NULL, NULL, NULL, '{"key":"definition","sha256":"6943e8481411e65e6b6ec351aa0d0f92cd1873c06b85e242cf65a60e33cb30a6"}', '2026-12-02 00:29:43.596652+00', '0000000000000000000000000000000000000000000000000000000000000000', '55c9625a0ac71b6426a7c9ede55908de2d460dc87b79a5c53bc1c8d42ebc2e9e');
INSERT INTO rs_schema1_fixture.audit_events VALUES ('fixture', 2, 'login', 'r1', NULL, NULL, '{}', '2026-12-02 00:29:43.606826+00', '55c9625a0ac71b6426a7c9ede55908de2d460dc87b79a5c53bc1c8d42ebc2e9e', '1bad2e2cfeafc083d287525c1103d041d1d221196fcf1fc8865dde50a57c75a3');
INSERT INTO rs_schema1_fixture.audit_events VALUES ('fixture', 3, 'submit', 'r1', 1, 'c1', '{"digest":"c3c491d5edc67e70e90dde07f99deddd90689800c55af16c9e5976e54a85a50e","modality":"unaided","order":1,"read_id":1,"version":1}', '2026-03-02 08:34:35.004+00', '1bad2e2cfeafc083d287525c1103d041d1d221196fcf1fc8865dde50a57c75a3', '2aa9ecc577edcd371b0110586ea467e204d8fc93245b4d8ba481d19fceb208c4');
INSERT INTO rs_schema1_fixture.audit_events VALUES ('fixture', 4, 'submit', 'r1', 1, 'c2', '{"digest":"4017b2f9b33ee70d1b0232b765a10c93d36c475b44965d06773ccde2ed58ecd3","modality":"unaided","order":2,"read_id":2,"version":1}', '2026-03-02 08:38:17.447+00', '2aa9ecc577edcd371b0110586ea467e204d8fc93245b4d8ba481d19fceb208c4', '5770666eaf9fb0b4f559015ad7b7ca9e41dd4526be8952f7556d8627c87b8b12');
INSERT INTO rs_schema1_fixture.audit_events VALUES ('fixture', 5, 'submit', 'r1', 1, 'c3', '{"digest":"23cbe72c6d5052204a594ae1259cf45558d156edfd4237fd1aac5f9a76c2ffe2","modality":"unaided","order":3,"read_id":3,"version":1}', '2026-03-02 08:41:31.472+00', '5770666eaf9fb0b4f559015ad7b7ca9e41dd4526be8952f7556d8627c87b8b12', '23289176d02a36c67a33e36a57d734ae61b935944e4477de4c5392b1223fc419');
INSERT INTO rs_schema1_fixture.audit_events VALUES ('fixture', 6, 'submit', 'r1', 2, 'c1', '{"digest":"ecd8c9a1d523acd5393add2c089025c66724fce7918f9de32aa8d737a40af036","modality":"aided","order":1,"read_id":4,"version":1}', '2026-03-16 08:34:12.529+00', '23289176d02a36c67a33e36a57d734ae61b935944e4477de4c5392b1223fc419', 'bf1d88d82651255dc37791b36367e2279e1e3f608ca846799e625283414f2dde');
INSERT INTO rs_schema1_fixture.audit_events VALUES ('fixture', 7, 'submit', 'r1', 2, 'c2', '{"digest":"39cdafae516fe6441378c0244f900d54cfac549957696651994ec739f8cc3bf1","modality":"aided","order":2,"read_id":5,"version":1}', '2026-03-16 08:37:51.111+00', 'bf1d88d82651255dc37791b36367e2279e1e3f608ca846799e625283414f2dde', 'e2d69bd4b4f5a5638284336cbb62b52dd55acbd8ea31fd4eebb4b4b733b40fc8');
INSERT INTO rs_schema1_fixture.audit_events VALUES ('fixture', 8, 'submit', 'r1', 2, 'c3', '{"digest":"8e169abbbf89418bcf8c335a7dff28766a0b626d317e45554e8bc0aff4ce3f3f","modality":"aided","order":3,"read_id":6,"version":1}', '2026-03-16 08:39:59.656+00', 'e2d69bd4b4f5a5638284336cbb62b52dd55acbd8ea31fd4eebb4b4b733b40fc8', 'c96b31c9e87492e48dca0d421445181833ba1c4e1ee3026617c016c57b019171');
INSERT INTO rs_schema1_fixture.audit_events VALUES ('fixture', 9, 'submit', 'r2', 1, 'c1', '{"digest":"50cfdfce227b4d16dde2bcbbb9a6e7e5746e601371a4f46db55b47ae0ecd758a","modality":"unaided","order":1,"read_id":7,"version":1}', '2026-03-02 08:35:12.618+00', 'c96b31c9e87492e48dca0d421445181833ba1c4e1ee3026617c016c57b019171', '27eeb1bfbbe8a597edcf43910b72461bb015dba8f2d8fa3a524d08da836369e7');
INSERT INTO rs_schema1_fixture.audit_events VALUES ('fixture', 10, 'submit', 'r2', 1, 'c2', '{"digest":"99ab67d95a7702bdf7bfcc3d7116e7739df7a16d76308e1817373d6f79a8c2a4","modality":"unaided","order":2,"read_id":8,"version":1}', '2026-03-02 08:38:25.243+00', '27eeb1bfbbe8a597edcf43910b72461bb015dba8f2d8fa3a524d08da836369e7', '450cec0e16ae8cb42c7391b7f55e606c0daa30e94a9d3d3fa035a3811805b0b5');
INSERT INTO rs_schema1_fixture.audit_events VALUES ('fixture', 11, 'submit', 'r2', 1, 'c3', '{"digest":"51c3115936cdf0e6ddf5e4f69f0d0829b97d721f4d82d01083f8dab12918aaa6","modality":"unaided","order":3,"read_id":9,"version":1}', '2026-03-02 08:41:32.993+00', '450cec0e16ae8cb42c7391b7f55e606c0daa30e94a9d3d3fa035a3811805b0b5', 'b9360edfef5bbcddd5139d51352edf77cb6f08bae1d240816ab5436471677c1c');
INSERT INTO rs_schema1_fixture.audit_events VALUES ('fixture', 12, 'submit', 'r2', 2, 'c1', '{"digest":"52417fe303ec35e98bf49c14536592d829bf5810db593a182caf28514bbac89b","modality":"aided","order":1,"read_id":10,"version":1}', '2026-03-16 08:33:43.636+00', 'b9360edfef5bbcddd5139d51352edf77cb6f08bae1d240816ab5436471677c1c', '50c5970085d6231bb76e5b2953a9f8bf1c9925c022bd44f2cd63723ffdb3616b');
INSERT INTO rs_schema1_fixture.audit_events VALUES ('fixture', 13, 'submit', 'r2', 2, 'c2', '{"digest":"570b48b96474f7055c46b978759feb73774b61c77b316b10c958aae56d8ef1b5","modality":"aided","order":2,"read_id":11,"version":1}', '2026-03-16 08:37:01.131+00', '50c5970085d6231bb76e5b2953a9f8bf1c9925c022bd44f2cd63723ffdb3616b', '5c76d70c6cea9856375d871ec2b425eb61637a925d1166776c2989da72144d02');
INSERT INTO rs_schema1_fixture.audit_events VALUES ('fixture', 14, 'submit', 'r2', 2, 'c3', '{"digest":"fa9be0595fc40c8233ca8b9f5f2a241b643e6f7b3eb91adb2e80b95b43d398d7","modality":"aided","order":3,"read_id":12,"version":1}', '2026-03-16 08:39:46.9+00', '5c76d70c6cea9856375d871ec2b425eb61637a925d1166776c2989da72144d02', '6a2f5343785f7003d72b1da1eeaa94bd3f1cbfdfab929d6ef683c3082e4a40f3');
INSERT INTO rs_schema1_fixture.audit_events VALUES ('fixture', 15, 'amend', 'r1', 1, 'c2', '{"digest":"93c21264d98243509272709d40f0e8293609679524a1f17b97b00e9dd8ea194d","modality":"unaided","order":2,"read_id":13,"reason":"typo","supersedes":2,"version":2}', '2026-03-02 08:38:17.447+00', '6a2f5343785f7003d72b1da1eeaa94bd3f1cbfdfab929d6ef683c3082e4a40f3', '63c617e0d990d02753df09d418449e9aaf8797b0b0a31d8121b911abcbf04c29');


--
-- Data for Name: read_intervals; Type: TABLE DATA; Schema: rs_schema1_fixture; Owner: -
--

INSERT INTO rs_schema1_fixture.read_intervals VALUES ('fixture', 1, 0, 'active', '2026-03-02 08:33:00+00', '2026-03-02 08:33:40.142+00');
INSERT INTO rs_schema1_fixture.read_intervals VALUES ('fixture', 1, 1, 'idle', '2026-03-02 08:33:40.142+00', '2026-03-02 08:33:54.862+00');
INSERT INTO rs_schema1_fixture.read_intervals VALUES ('fixture', 1, 2, 'active', '2026-03-02 08:33:54.862+00', '2026-03-02 08:34:35.004+00');
INSERT INTO rs_schema1_fixture.read_intervals VALUES ('fixture', 2, 0, 'active', '2026-03-02 08:36:00+00', '2026-03-02 08:37:03.8+00');
INSERT INTO rs_schema1_fixture.read_intervals VALUES ('fixture', 2, 1, 'idle', '2026-03-02 08:37:03.8+00', '2026-03-02 08:37:13.647+00');
INSERT INTO rs_schema1_fixture.read_intervals VALUES ('fixture', 2, 2, 'active', '2026-03-02 08:37:13.647+00', '2026-03-02 08:38:17.447+00');
INSERT INTO rs_schema1_fixture.read_intervals VALUES ('fixture', 3, 0, 'active', '2026-03-02 08:39:00+00', '2026-03-02 08:40:14.9545+00');
INSERT INTO rs_schema1_fixture.read_intervals VALUES ('fixture', 3, 1, 'idle', '2026-03-02 08:40:14.9545+00', '2026-03-02 08:40:16.5175+00');
INSERT INTO rs_schema1_fixture.read_intervals VALUES ('fixture', 3, 2, 'active', '2026-03-02 08:40:16.5175+00', '2026-03-02 08:41:31.472+00');
INSERT INTO rs_schema1_fixture.read_intervals VALUES ('fixture', 4, 0, 'active', '2026-03-16 08:33:00+00', '2026-03-16 08:33:32.883+00');
INSERT INTO rs_schema1_fixture.read_intervals VALUES ('fixture', 4, 1, 'idle', '2026-03-16 08:33:32.883+00', '2026-03-16 08:33:39.646+00');
INSERT INTO rs_schema1_fixture.read_intervals VALUES ('fixture', 4, 2, 'active', '2026-03-16 08:33:39.646+00', '2026-03-16 08:34:12.529+00');
INSERT INTO rs_schema1_fixture.read_intervals VALUES ('fixture', 5, 0, 'active', '2026-03-16 08:36:00+00', '2026-03-16 08:36:47.753+00');
INSERT INTO rs_schema1_fixture.read_intervals VALUES ('fixture', 5, 1, 'idle', '2026-03-16 08:36:47.753+00', '2026-03-16 08:37:03.358+00');
INSERT INTO rs_schema1_fixture.read_intervals VALUES ('fixture', 5, 2, 'active', '2026-03-16 08:37:03.358+00', '2026-03-16 08:37:51.111+00');
INSERT INTO rs_schema1_fixture.read_intervals VALUES ('fixture', 6, 0, 'active', '2026-03-16 08:39:00+00', '2026-03-16 08:39:21.2245+00');
INSERT INTO rs_schema1_fixture.read_intervals VALUES ('fixture', 6, 1, 'idle', '2026-03-16 08:39:21.2245+00', '2026-03-16 08:39:38.4315+00');
INSERT INTO rs_schema1_fixture.read_intervals VALUES ('fixture', 6, 2, 'active', '2026-03-16 08:39:38.4315+00', '2026-03-16 08:39:59.656+00');
INSERT INTO rs_schema1_fixture.read_intervals VALUES ('fixture', 7, 0, 'active', '2026-03-02 08:33:00+00', '2026-03-02 08:33:58.129+00');
INSERT INTO rs_schema1_fixture.read_intervals VALUES ('fixture', 7, 1, 'idle', '2026-03-02 08:33:58.129+00', '2026-03-02 08:34:14.489+00');
INSERT INTO rs_schema1_fixture.read_intervals VALUES ('fixture', 7, 2, 'active', '2026-03-02 08:34:14.489+00', '2026-03-02 08:35:12.618+00');
INSERT INTO rs_schema1_fixture.read_intervals VALUES ('fixture', 8, 0, 'active', '2026-03-02 08:36:00+00', '2026-03-02 08:37:12.2445+00');
INSERT INTO rs_schema1_fixture.read_intervals VALUES ('fixture', 8, 1, 'idle', '2026-03-02 08:37:12.2445+00', '2026-03-02 08:37:12.9985+00');
INSERT INTO rs_schema1_fixture.read_intervals VALUES ('fixture', 8, 2, 'active', '2026-03-02 08:37:12.9985+00', '2026-03-02 08:38:25.243+00');
INSERT INTO rs_schema1_fixture.read_intervals VALUES ('fixture', 9, 0, 'active', '2026-03-02 08:39:00+00', '2026-03-02 08:40:13.756+00');
INSERT INTO rs_schema1_fixture.read_intervals VALUES ('fixture', 9, 1, 'idle', '2026-03-02 08:40:13.756+00', '2026-03-02 08:40:19.237+00');
INSERT INTO rs_schema1_fixture.read_intervals VALUES ('fixture', 9, 2, 'active', '2026-03-02 08:40:19.237+00', '2026-03-02 08:41:32.993+00');
INSERT INTO rs_schema1_fixture.read_intervals VALUES ('fixture', 10, 0, 'active', '2026-03-16 08:33:00+00', '2026-03-16 08:33:20.4805+00');
INSERT INTO rs_schema1_fixture.read_intervals VALUES ('fixture', 10, 1, 'idle', '2026-03-16 08:33:20.4805+00', '2026-03-16 08:33:23.1555+00');
INSERT INTO rs_schema1_fixture.read_intervals VALUES ('fixture', 10, 2, 'active', '2026-03-16 08:33:23.1555+00', '2026-03-16 08:33:43.636+00');
INSERT INTO rs_schema1_fixture.read_intervals VALUES ('fixture', 11, 0, 'active', '2026-03-16 08:36:00+00', '2026-03-16 08:36:20.718+00');
INSERT INTO rs_schema1_fixture.read_intervals VALUES ('fixture', 11, 1, 'idle', '2026-03-16 08:36:20.718+00', '2026-03-16 08:36:40.413+00');
INSERT INTO rs_schema1_fixture.read_intervals VALUES ('fixture', 11, 2, 'active', '2026-03-16 08:36:40.413+00', '2026-03-16 08:37:01.131+00');
INSERT INTO rs_schema1_fixture.read_intervals VALUES ('fixture', 12, 0, 'active', '2026-03-16 08:39:00+00', '2026-03-16 08:39:17.982+00');
INSERT INTO rs_schema1_fixture.read_intervals VALUES ('fixture', 12, 1, 'idle', '2026-03-16 08:39:17.982+00', '2026-03-16 08:39:28.918+00');
INSERT INTO rs_schema1_fixture.read_intervals VALUES ('fixture', 12, 2, 'active', '2026-03-16 08:39:28.918+00', '2026-03-16 08:39:46.9+00');


--
-- Data for Name: read_units; Type: TABLE DATA; Schema: rs_schema1_fixture; Owner: -
--

INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 1, 'C_left', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 1, 'L_left', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 1, 'IC_left', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 1, 'I_left', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 1, 'M1_left', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 1, 'M2_left', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 1, 'M3_left', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 1, 'M4_left', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 1, 'M5_left', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 1, 'M6_left', 1, 4);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 1, 'C_right', 1, 5);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 1, 'L_right', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 1, 'IC_right', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 1, 'I_right', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 1, 'M1_right', 1, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 1, 'M2_right', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 1, 'M3_right', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 1, 'M4_right', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 1, 'M5_right', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 1, 'M6_right', 1, 4);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 2, 'C_left', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 2, 'L_left', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 2, 'IC_left', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 2, 'I_left', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 2, 'M1_left', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 2, 'M2_left', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 2, 'M3_left', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 2, 'M4_left', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 2, 'M5_left', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 2, 'M6_left', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 2, 'C_right', 1, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 2, 'L_right', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 2, 'IC_right', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 2, 'I_right', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 2, 'M1_right', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 2, 'M2_right', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 2, 'M3_right', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 2, 'M4_right', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 2, 'M5_right', 1, 4);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 2, 'M6_right', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 3, 'C_left', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 3, 'L_left', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 3, 'IC_left', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 3, 'I_left', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 3, 'M1_left', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 3, 'M2_left', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 3, 'M3_left', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 3, 'M4_left', 1, 4);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 3, 'M5_left', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 3, 'M6_left', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 3, 'C_right', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 3, 'L_right', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 3, 'IC_right', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 3, 'I_right', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 3, 'M1_right', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 3, 'M2_right', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 3, 'M3_right', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 3, 'M4_right', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 3, 'M5_right', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 3, 'M6_right', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 4, 'C_left', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 4, 'L_left', 1, 4);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 4, 'IC_left', 1, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 4, 'I_left', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 4, 'M1_left', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 4, 'M2_left', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 4, 'M3_left', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 4, 'M4_left', 1, 4);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 4, 'M5_left', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 4, 'M6_left', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 4, 'C_right', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 4, 'L_right', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 4, 'IC_right', 1, 4);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 4, 'I_right', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 4, 'M1_right', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 4, 'M2_right', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 4, 'M3_right', 1, 5);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 4, 'M4_right', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 4, 'M5_right', 1, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 4, 'M6_right', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 5, 'C_left', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 5, 'L_left', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 5, 'IC_left', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 5, 'I_left', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 5, 'M1_left', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 5, 'M2_left', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 5, 'M3_left', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 5, 'M4_left', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 5, 'M5_left', 1, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 5, 'M6_left', 1, 4);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 5, 'C_right', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 5, 'L_right', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 5, 'IC_right', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 5, 'I_right', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 5, 'M1_right', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 5, 'M2_right', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 5, 'M3_right', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 5, 'M4_right', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 5, 'M5_right', 1, 5);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 5, 'M6_right', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 6, 'C_left', 1, 5);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 6, 'L_left', 1, 5);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 6, 'IC_left', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 6, 'I_left', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 6, 'M1_left', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 6, 'M2_left', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 6, 'M3_left', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 6, 'M4_left', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 6, 'M5_left', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 6, 'M6_left', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 6, 'C_right', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 6, 'L_right', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 6, 'IC_right', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 6, 'I_right', 1, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 6, 'M1_right', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 6, 'M2_right', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 6, 'M3_right', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 6, 'M4_right', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 6, 'M5_right', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 6, 'M6_right', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 7, 'C_left', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 7, 'L_left', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 7, 'IC_left', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 7, 'I_left', 1, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 7, 'M1_left', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 7, 'M2_left', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 7, 'M3_left', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 7, 'M4_left', 1, 5);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 7, 'M5_left', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 7, 'M6_left', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 7, 'C_right', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 7, 'L_right', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 7, 'IC_right', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 7, 'I_right', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 7, 'M1_right', 1, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 7, 'M2_right', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 7, 'M3_right', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 7, 'M4_right', 1, 4);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 7, 'M5_right', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 7, 'M6_right', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 8, 'C_left', 1, 5);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 8, 'L_left', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 8, 'IC_left', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 8, 'I_left', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 8, 'M1_left', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 8, 'M2_left', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 8, 'M3_left', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 8, 'M4_left', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 8, 'M5_left', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 8, 'M6_left', 1, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 8, 'C_right', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 8, 'L_right', 1, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 8, 'IC_right', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 8, 'I_right', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 8, 'M1_right', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 8, 'M2_right', 1, 4);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 8, 'M3_right', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 8, 'M4_right', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 8, 'M5_right', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 8, 'M6_right', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 9, 'C_left', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 9, 'L_left', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 9, 'IC_left', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 9, 'I_left', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 9, 'M1_left', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 9, 'M2_left', 1, 4);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 9, 'M3_left', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 9, 'M4_left', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 9, 'M5_left', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 9, 'M6_left', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 9, 'C_right', 1, 5);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 9, 'L_right', 1, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 9, 'IC_right', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 9, 'I_right', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 9, 'M1_right', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 9, 'M2_right', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 9, 'M3_right', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 9, 'M4_right', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 9, 'M5_right', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 9, 'M6_right', 1, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 10, 'C_left', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 10, 'L_left', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 10, 'IC_left', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 10, 'I_left', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 10, 'M1_left', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 10, 'M2_left', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 10, 'M3_left', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 10, 'M4_left', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 10, 'M5_left', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 10, 'M6_left', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 10, 'C_right', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 10, 'L_right', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 10, 'IC_right', 1, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 10, 'I_right', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 10, 'M1_right', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 10, 'M2_right', 1, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 10, 'M3_right', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 10, 'M4_right', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 10, 'M5_right', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 10, 'M6_right', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 11, 'C_left', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 11, 'L_left', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 11, 'IC_left', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 11, 'I_left', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 11, 'M1_left', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 11, 'M2_left', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 11, 'M3_left', 1, 4);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 11, 'M4_left', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 11, 'M5_left', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 11, 'M6_left', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 11, 'C_right', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 11, 'L_right', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 11, 'IC_right', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 11, 'I_right', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 11, 'M1_right', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 11, 'M2_right', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 11, 'M3_right', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 11, 'M4_right', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 11, 'M5_right', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 11, 'M6_right', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 12, 'C_left', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 12, 'L_left', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 12, 'IC_left', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 12, 'I_left', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 12, 'M1_left', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 12, 'M2_left', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 12, 'M3_left', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 12, 'M4_left', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 12, 'M5_left', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 12, 'M6_left', 1, 5);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 12, 'C_right', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 12, 'L_right', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 12, 'IC_right', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 12, 'I_right', 1, 4);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 12, 'M1_right', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 12, 'M2_right', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 12, 'M3_right', 1, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 12, 'M4_right', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 12, 'M5_right', 1, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 12, 'M6_right', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 13, 'C_left', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 13, 'C_right', 1, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 13, 'IC_left', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 13, 'IC_right', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 13, 'I_left', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 13, 'I_right', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 13, 'L_left', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 13, 'L_right', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 13, 'M1_left', NULL, 2.5);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 13, 'M1_right', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 13, 'M2_left', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 13, 'M2_right', 1, NULL);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 13, 'M3_left', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 13, 'M3_right', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 13, 'M4_left', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 13, 'M4_right', 0, 3);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 13, 'M5_left', 0, 1);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 13, 'M5_right', 1, 4);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 13, 'M6_left', 0, 2);
INSERT INTO rs_schema1_fixture.read_units VALUES ('fixture', 13, 'M6_right', 0, 1);


--
-- Data for Name: readerstudy_schema; Type: TABLE DATA; Schema: rs_schema1_fixture; Owner: -
--

INSERT INTO rs_schema1_fixture.readerstudy_schema VALUES (1, 1, '2026-12-02 00:29:43.591666+00', 'readerstudy 0.1.0');


--
-- Data for Name: reads; Type: TABLE DATA; Schema: rs_schema1_fixture; Owner: -
--

INSERT INTO rs_schema1_fixture.reads VALUES (1, 'fixture', 'r1', 1, 'c1', 1, 'unaided', 1, 80.284, 95.004, '2026-03-02 08:33:00+00', '2026-03-02 08:34:35.004+00', '[]', '{"aspects_left":9}', NULL);
INSERT INTO rs_schema1_fixture.reads VALUES (2, 'fixture', 'r1', 1, 'c2', 1, 'unaided', 2, 127.6, 137.447, '2026-03-02 08:36:00+00', '2026-03-02 08:38:17.447+00', '[]', '{"aspects_left":10}', NULL);
INSERT INTO rs_schema1_fixture.reads VALUES (3, 'fixture', 'r1', 1, 'c3', 1, 'unaided', 3, 149.909, 151.47199999999998, '2026-03-02 08:39:00+00', '2026-03-02 08:41:31.472+00', '[]', '{"aspects_left":9}', NULL);
INSERT INTO rs_schema1_fixture.reads VALUES (4, 'fixture', 'r1', 2, 'c1', 1, 'aided', 1, 65.766, 72.52900000000001, '2026-03-16 08:33:00+00', '2026-03-16 08:34:12.529+00', '[]', '{"aspects_left":7}', NULL);
INSERT INTO rs_schema1_fixture.reads VALUES (5, 'fixture', 'r1', 2, 'c2', 1, 'aided', 2, 95.506, 111.111, '2026-03-16 08:36:00+00', '2026-03-16 08:37:51.111+00', '[]', '{"aspects_left":8}', NULL);
INSERT INTO rs_schema1_fixture.reads VALUES (6, 'fixture', 'r1', 2, 'c3', 1, 'aided', 3, 42.449, 59.656, '2026-03-16 08:39:00+00', '2026-03-16 08:39:59.656+00', '[]', '{"aspects_left":8}', NULL);
INSERT INTO rs_schema1_fixture.reads VALUES (7, 'fixture', 'r2', 1, 'c1', 1, 'unaided', 1, 116.258, 132.618, '2026-03-02 08:33:00+00', '2026-03-02 08:35:12.618+00', '[]', '{"aspects_left":8}', NULL);
INSERT INTO rs_schema1_fixture.reads VALUES (8, 'fixture', 'r2', 1, 'c2', 1, 'unaided', 2, 144.489, 145.243, '2026-03-02 08:36:00+00', '2026-03-02 08:38:25.243+00', '["motion"]', '{"aspects_left":8}', NULL);
INSERT INTO rs_schema1_fixture.reads VALUES (9, 'fixture', 'r2', 1, 'c3', 1, 'unaided', 3, 147.512, 152.993, '2026-03-02 08:39:00+00', '2026-03-02 08:41:32.993+00', '[]', '{"aspects_left":9}', NULL);
INSERT INTO rs_schema1_fixture.reads VALUES (10, 'fixture', 'r2', 2, 'c1', 1, 'aided', 1, 40.961, 43.635999999999996, '2026-03-16 08:33:00+00', '2026-03-16 08:33:43.636+00', '[]', '{"aspects_left":10}', NULL);
INSERT INTO rs_schema1_fixture.reads VALUES (11, 'fixture', 'r2', 2, 'c2', 1, 'aided', 2, 41.436, 61.131, '2026-03-16 08:36:00+00', '2026-03-16 08:37:01.131+00', '["motion"]', '{"aspects_left":9}', NULL);
INSERT INTO rs_schema1_fixture.reads VALUES (12, 'fixture', 'r2', 2, 'c3', 1, 'aided', 3, 35.964, 46.9, '2026-03-16 08:39:00+00', '2026-03-16 08:39:46.9+00', '[]', '{"aspects_left":9}', NULL);
INSERT INTO rs_schema1_fixture.reads VALUES (13, 'fixture', 'r1', 1, 'c2', 2, 'unaided', 2, 127.6, 137.447, '2026-03-02 08:36:00+00', '2026-03-02 08:38:17.447+00', '[]', '{"note":"é ü ''q''","x":1e-07}', 'typo');


--
-- Data for Name: reads_in_progress; Type: TABLE DATA; Schema: rs_schema1_fixture; Owner: -
--



--
-- Data for Name: study_meta; Type: TABLE DATA; Schema: rs_schema1_fixture; Owner: -
--

INSERT INTO rs_schema1_fixture.study_meta VALUES ('fixture', 'definition', '{"name":"schema-1 fixture","units":"aspects"}', '2026-12-02 00:29:43.596652+00');


--
-- Name: readerstudy_schema_id_seq; Type: SEQUENCE SET; Schema: rs_schema1_fixture; Owner: -
--

SELECT pg_catalog.setval('rs_schema1_fixture.readerstudy_schema_id_seq', 1, false);


--
-- Name: reads_id_seq; Type: SEQUENCE SET; Schema: rs_schema1_fixture; Owner: -
--

SELECT pg_catalog.setval('rs_schema1_fixture.reads_id_seq', 13, true);


--
-- Name: audit_chain_head audit_chain_head_pkey; Type: CONSTRAINT; Schema: rs_schema1_fixture; Owner: -
--

ALTER TABLE ONLY rs_schema1_fixture.audit_chain_head
    ADD CONSTRAINT audit_chain_head_pkey PRIMARY KEY (study_id);


--
-- Name: audit_events audit_events_pkey; Type: CONSTRAINT; Schema: rs_schema1_fixture; Owner: -
--

ALTER TABLE ONLY rs_schema1_fixture.audit_events
    ADD CONSTRAINT audit_events_pkey PRIMARY KEY (study_id, seq);


--
-- Name: read_intervals read_intervals_pkey; Type: CONSTRAINT; Schema: rs_schema1_fixture; Owner: -
--

ALTER TABLE ONLY rs_schema1_fixture.read_intervals
    ADD CONSTRAINT read_intervals_pkey PRIMARY KEY (read_id, idx);


--
-- Name: read_units read_units_pkey; Type: CONSTRAINT; Schema: rs_schema1_fixture; Owner: -
--

ALTER TABLE ONLY rs_schema1_fixture.read_units
    ADD CONSTRAINT read_units_pkey PRIMARY KEY (read_id, unit);


--
-- Name: readerstudy_schema readerstudy_schema_pkey; Type: CONSTRAINT; Schema: rs_schema1_fixture; Owner: -
--

ALTER TABLE ONLY rs_schema1_fixture.readerstudy_schema
    ADD CONSTRAINT readerstudy_schema_pkey PRIMARY KEY (id);


--
-- Name: reads_in_progress reads_in_progress_pkey; Type: CONSTRAINT; Schema: rs_schema1_fixture; Owner: -
--

ALTER TABLE ONLY rs_schema1_fixture.reads_in_progress
    ADD CONSTRAINT reads_in_progress_pkey PRIMARY KEY (study_id, reader, session, "case");


--
-- Name: reads reads_pkey; Type: CONSTRAINT; Schema: rs_schema1_fixture; Owner: -
--

ALTER TABLE ONLY rs_schema1_fixture.reads
    ADD CONSTRAINT reads_pkey PRIMARY KEY (id);


--
-- Name: study_meta study_meta_pkey; Type: CONSTRAINT; Schema: rs_schema1_fixture; Owner: -
--

ALTER TABLE ONLY rs_schema1_fixture.study_meta
    ADD CONSTRAINT study_meta_pkey PRIMARY KEY (study_id, key);


--
-- Name: reads uq_read_study; Type: CONSTRAINT; Schema: rs_schema1_fixture; Owner: -
--

ALTER TABLE ONLY rs_schema1_fixture.reads
    ADD CONSTRAINT uq_read_study UNIQUE (study_id, id);


--
-- Name: reads uq_read_version; Type: CONSTRAINT; Schema: rs_schema1_fixture; Owner: -
--

ALTER TABLE ONLY rs_schema1_fixture.reads
    ADD CONSTRAINT uq_read_version UNIQUE (study_id, reader, session, "case", version);


--
-- Name: ix_audit_events_kind; Type: INDEX; Schema: rs_schema1_fixture; Owner: -
--

CREATE INDEX ix_audit_events_kind ON rs_schema1_fixture.audit_events USING btree (study_id, kind);


--
-- Name: ix_audit_events_reader; Type: INDEX; Schema: rs_schema1_fixture; Owner: -
--

CREATE INDEX ix_audit_events_reader ON rs_schema1_fixture.audit_events USING btree (study_id, reader, session);


--
-- Name: audit_events audit_events_append_only; Type: TRIGGER; Schema: rs_schema1_fixture; Owner: -
--

CREATE TRIGGER audit_events_append_only BEFORE DELETE OR UPDATE ON rs_schema1_fixture.audit_events FOR EACH ROW EXECUTE FUNCTION rs_schema1_fixture.readerstudy_refuse_change();


--
-- Name: audit_events audit_events_no_truncate; Type: TRIGGER; Schema: rs_schema1_fixture; Owner: -
--

CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON rs_schema1_fixture.audit_events FOR EACH STATEMENT EXECUTE FUNCTION rs_schema1_fixture.readerstudy_refuse_change();


--
-- Name: read_intervals read_intervals_append_only; Type: TRIGGER; Schema: rs_schema1_fixture; Owner: -
--

CREATE TRIGGER read_intervals_append_only BEFORE DELETE OR UPDATE ON rs_schema1_fixture.read_intervals FOR EACH ROW EXECUTE FUNCTION rs_schema1_fixture.readerstudy_refuse_change();


--
-- Name: read_intervals read_intervals_no_truncate; Type: TRIGGER; Schema: rs_schema1_fixture; Owner: -
--

CREATE TRIGGER read_intervals_no_truncate BEFORE TRUNCATE ON rs_schema1_fixture.read_intervals FOR EACH STATEMENT EXECUTE FUNCTION rs_schema1_fixture.readerstudy_refuse_change();


--
-- Name: read_units read_units_append_only; Type: TRIGGER; Schema: rs_schema1_fixture; Owner: -
--

CREATE TRIGGER read_units_append_only BEFORE DELETE OR UPDATE ON rs_schema1_fixture.read_units FOR EACH ROW EXECUTE FUNCTION rs_schema1_fixture.readerstudy_refuse_change();


--
-- Name: read_units read_units_no_truncate; Type: TRIGGER; Schema: rs_schema1_fixture; Owner: -
--

CREATE TRIGGER read_units_no_truncate BEFORE TRUNCATE ON rs_schema1_fixture.read_units FOR EACH STATEMENT EXECUTE FUNCTION rs_schema1_fixture.readerstudy_refuse_change();


--
-- Name: reads reads_append_only; Type: TRIGGER; Schema: rs_schema1_fixture; Owner: -
--

CREATE TRIGGER reads_append_only BEFORE DELETE OR UPDATE ON rs_schema1_fixture.reads FOR EACH ROW EXECUTE FUNCTION rs_schema1_fixture.readerstudy_refuse_change();


--
-- Name: reads reads_no_truncate; Type: TRIGGER; Schema: rs_schema1_fixture; Owner: -
--

CREATE TRIGGER reads_no_truncate BEFORE TRUNCATE ON rs_schema1_fixture.reads FOR EACH STATEMENT EXECUTE FUNCTION rs_schema1_fixture.readerstudy_refuse_change();


--
-- Name: read_intervals read_intervals_study_id_read_id_fkey; Type: FK CONSTRAINT; Schema: rs_schema1_fixture; Owner: -
--

ALTER TABLE ONLY rs_schema1_fixture.read_intervals
    ADD CONSTRAINT read_intervals_study_id_read_id_fkey FOREIGN KEY (study_id, read_id) REFERENCES rs_schema1_fixture.reads(study_id, id) ON DELETE RESTRICT;


--
-- Name: read_units read_units_study_id_read_id_fkey; Type: FK CONSTRAINT; Schema: rs_schema1_fixture; Owner: -
--

ALTER TABLE ONLY rs_schema1_fixture.read_units
    ADD CONSTRAINT read_units_study_id_read_id_fkey FOREIGN KEY (study_id, read_id) REFERENCES rs_schema1_fixture.reads(study_id, id) ON DELETE RESTRICT;


--
-- PostgreSQL database dump complete
--



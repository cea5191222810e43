-- v0 -> v1: Latest schema
CREATE TABLE imbridge_event_cursor (
	bridge_id  TEXT   NOT NULL,
	login_id   TEXT   NOT NULL,
	stream     TEXT   NOT NULL,
	cursor     TEXT   NOT NULL,
	updated_at BIGINT NOT NULL,

	PRIMARY KEY (bridge_id, login_id, stream),
	CONSTRAINT imbridge_event_cursor_login_fkey FOREIGN KEY (bridge_id, login_id)
		REFERENCES user_login (bridge_id, id)
		ON DELETE CASCADE ON UPDATE CASCADE
);

CREATE TABLE imbridge_sync_state (
	bridge_id  TEXT   NOT NULL,
	login_id   TEXT   NOT NULL,
	scope      TEXT   NOT NULL,
	state      TEXT   NOT NULL,
	updated_at BIGINT NOT NULL,

	PRIMARY KEY (bridge_id, login_id, scope),
	CONSTRAINT imbridge_sync_state_login_fkey FOREIGN KEY (bridge_id, login_id)
		REFERENCES user_login (bridge_id, id)
		ON DELETE CASCADE ON UPDATE CASCADE
);

CREATE TABLE imbridge_conversation_thread (
	bridge_id        TEXT   NOT NULL,
	login_id         TEXT   NOT NULL,
	thread_id        TEXT   NOT NULL,
	portal_id        TEXT   NOT NULL,
	conversation_ref TEXT   NOT NULL,
	updated_at       BIGINT NOT NULL,

	PRIMARY KEY (bridge_id, login_id, thread_id),
	CONSTRAINT imbridge_conversation_thread_login_fkey FOREIGN KEY (bridge_id, login_id)
		REFERENCES user_login (bridge_id, id)
		ON DELETE CASCADE ON UPDATE CASCADE
);

CREATE INDEX imbridge_conversation_thread_portal_idx ON imbridge_conversation_thread (bridge_id, login_id, portal_id);

-- Attachment bytes in the database (packages/core/src/storage/database-storage.ts), the default store of a
-- cluster: every node reads what any node wrote. The attachments row keeps the metadata; this table only
-- maps an opaque storage key to bytes, like the disk store's files.
CREATE TABLE blobs (
  key text PRIMARY KEY,
  data bytea NOT NULL,
  size integer NOT NULL,
  created_at timestamptz DEFAULT now()
);
-- Out of line and uncompressed: attachments are mostly images, audio, video, zip and pdf, already
-- compressed, so trying again on every write only costs CPU.
ALTER TABLE blobs ALTER COLUMN data SET STORAGE EXTERNAL;

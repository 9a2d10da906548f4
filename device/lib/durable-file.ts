/** The kiosk's durable writes: the same code the gateway uses for its own files (shared/durable-file.ts). */
export { fsyncDir, readStateFile, writeFileDurably, writeSynced } from "../../shared/durable-file.js";

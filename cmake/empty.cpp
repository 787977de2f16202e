// An empty translation unit: a module with no sources yet still builds (KOFU_DEV_PARTIAL).

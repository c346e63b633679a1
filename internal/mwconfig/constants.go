package mwconfig

import "math"

var posInf = math.Inf(1)

// knownConstants holds the global constants that appear in the static
// config arrays, with the values MediaWiki core (includes/Defines.php) and
// the deployed extensions define. Anything missing is reported as a warning
// and compared as the placeholder "const:NAME", which is still exact when
// both sides use the same constant.
var knownConstants = map[string]any{
	// Namespaces (Defines.php).
	"NS_MEDIA":          int64(-2),
	"NS_SPECIAL":        int64(-1),
	"NS_MAIN":           int64(0),
	"NS_TALK":           int64(1),
	"NS_USER":           int64(2),
	"NS_USER_TALK":      int64(3),
	"NS_PROJECT":        int64(4),
	"NS_PROJECT_TALK":   int64(5),
	"NS_FILE":           int64(6),
	"NS_FILE_TALK":      int64(7),
	"NS_IMAGE":          int64(6),
	"NS_IMAGE_TALK":     int64(7),
	"NS_MEDIAWIKI":      int64(8),
	"NS_MEDIAWIKI_TALK": int64(9),
	"NS_TEMPLATE":       int64(10),
	"NS_TEMPLATE_TALK":  int64(11),
	"NS_HELP":           int64(12),
	"NS_HELP_TALK":      int64(13),
	"NS_CATEGORY":       int64(14),
	"NS_CATEGORY_TALK":  int64(15),
	// Extension namespaces with fixed, registered numbers
	// (https://www.mediawiki.org/wiki/Extension_default_namespaces).
	"NS_MODULE":      int64(828),
	"NS_MODULE_TALK": int64(829),
	"NS_TOPIC":       int64(2600),

	// Autopromote conditions (Defines.php).
	"APCOND_EDITCOUNT":      int64(1),
	"APCOND_AGE":            int64(2),
	"APCOND_EMAILCONFIRMED": int64(3),
	"APCOND_INGROUPS":       int64(4),
	"APCOND_ISIP":           int64(5),
	"APCOND_IPINRANGE":      int64(6),
	"APCOND_AGE_FROM_EDIT":  int64(7),
	"APCOND_BLOCKED":        int64(8),
	"APCOND_ISBOT":          int64(9),

	// Object cache types (Defines.php).
	"CACHE_ANYTHING":  int64(-1),
	"CACHE_NONE":      int64(0),
	"CACHE_DB":        int64(1),
	"CACHE_MEMCACHED": int64(2),
	"CACHE_ACCEL":     int64(3),
	"CACHE_HASH":      "hash",

	// Database indexes (Defines.php / rdbms).
	"DB_REPLICA": int64(-1),
	"DB_PRIMARY": int64(-2),

	// Content models and formats (Defines.php).
	"CONTENT_MODEL_WIKITEXT":    "wikitext",
	"CONTENT_MODEL_JAVASCRIPT":  "javascript",
	"CONTENT_MODEL_CSS":         "css",
	"CONTENT_MODEL_TEXT":        "text",
	"CONTENT_MODEL_JSON":        "json",
	"CONTENT_MODEL_UNKNOWN":     "unknown",
	"CONTENT_FORMAT_WIKITEXT":   "text/x-wiki",
	"CONTENT_FORMAT_JAVASCRIPT": "text/javascript",
	"CONTENT_FORMAT_CSS":        "text/css",
	"CONTENT_FORMAT_TEXT":       "text/plain",
	"CONTENT_FORMAT_HTML":       "text/html",
	"CONTENT_FORMAT_SERIALIZED": "application/vnd.php.serialized",
	"CONTENT_FORMAT_JSON":       "application/json",
	"CONTENT_FORMAT_XML":        "application/xml",

	// Schema migration stages (Defines.php, MediaWiki >= 1.42 values).
	"SCHEMA_COMPAT_WRITE_OLD":          int64(0x01),
	"SCHEMA_COMPAT_READ_OLD":           int64(0x02),
	"SCHEMA_COMPAT_WRITE_TEMP":         int64(0x10),
	"SCHEMA_COMPAT_READ_TEMP":          int64(0x20),
	"SCHEMA_COMPAT_WRITE_NEW":          int64(0x100),
	"SCHEMA_COMPAT_READ_NEW":           int64(0x200),
	"SCHEMA_COMPAT_WRITE_MASK":         int64(0x111),
	"SCHEMA_COMPAT_READ_MASK":          int64(0x222),
	"SCHEMA_COMPAT_WRITE_BOTH":         int64(0x101),
	"SCHEMA_COMPAT_WRITE_OLD_AND_TEMP": int64(0x11),
	"SCHEMA_COMPAT_WRITE_TEMP_AND_NEW": int64(0x110),
	"SCHEMA_COMPAT_READ_BOTH":          int64(0x202),
	"SCHEMA_COMPAT_OLD":                int64(0x03),
	"SCHEMA_COMPAT_TEMP":               int64(0x30),
	"SCHEMA_COMPAT_NEW":                int64(0x300),
	"MIGRATION_OLD":                    int64(0),
	"MIGRATION_WRITE_BOTH":             int64(1),
	"MIGRATION_WRITE_NEW":              int64(2),
	"MIGRATION_NEW":                    int64(3),

	// XML dump schema versions (Defines.php).
	"XML_DUMP_SCHEMA_VERSION_10": "0.10",
	"XML_DUMP_SCHEMA_VERSION_11": "0.11",

	// PHP built-ins.
	"PHP_INT_MAX":  int64(9223372036854775807),
	"PHP_INT_MIN":  int64(-9223372036854775808),
	"PHP_INT_SIZE": int64(8),
	"PHP_EOL":      "\n",
	"E_ALL":        int64(32767),
	"E_ERROR":      int64(1),
	"E_WARNING":    int64(2),
	"E_NOTICE":     int64(8),
	"E_DEPRECATED": int64(8192),
	"E_STRICT":     int64(2048),
	"INF":          posInf,
}

// knownClassConstants holds Class::CONST values (besides ::class, which is
// always the resolved class name).
var knownClassConstants = map[string]any{}

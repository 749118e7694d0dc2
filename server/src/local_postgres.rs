//! A throwaway PostgreSQL on loopback (being written).

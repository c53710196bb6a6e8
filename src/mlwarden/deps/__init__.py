"""Dependencies: every manifest and lock format into one Pin model; pinning, hashes, sources, typosquats and
known vulnerabilities, checked against the policy."""

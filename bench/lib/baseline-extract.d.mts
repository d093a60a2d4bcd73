/** Reads every page of `${baseUrl}/rows` with a bearer token into the CSV `file`; returns the row count. */
export function baselineExtract(baseUrl: string, token: string, file: string): Promise<number>;

declare module 'pgpass' {
  function pgpass(connInfo: Record<string, unknown>, cb: (password: string | undefined) => void): void;
  export default pgpass;
}

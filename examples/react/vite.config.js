// JSX through esbuild's automatic runtime; no React plugin is needed for a build.
export default {
  esbuild: { jsx: 'automatic' },
};

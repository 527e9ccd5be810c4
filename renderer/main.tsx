import './styles.css';
import { connectVisionApi } from './api/connect.js';
import { mountApp } from './app/mount.js';

mountApp(connectVisionApi().api);
